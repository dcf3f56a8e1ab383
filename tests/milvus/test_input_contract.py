"""Issue 16's Milvus findings, one plain regression test each, against the real server: what was accepted,
half-done or misreported before is refused with the library's specific class, and nothing stored changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from vectorstack.errors import (
    AlreadyExistsError,
    DimensionMismatchError,
    InvalidFilterError,
    InvalidInputError,
    VectorStackError,
)
from vectorstack.milvus import CollectionSchema, FieldSpec, IndexSpec, VectorStore

from .conftest import DIM, default_schema, random_vectors, records

pytestmark = [pytest.mark.integration, pytest.mark.milvus]


# -- finding 3: create_collection is all or nothing, and exist_ok accepts only what was declared ----------
def test_an_index_the_server_refuses_leaves_no_collection(
    store: VectorStore, unique_name: Callable[[str], str], cleanup: Callable[..., None]
) -> None:
    name = unique_name("halfmade")
    cleanup(store.drop_collection, name)
    # Passes the client's checks (m is in range) but Milvus refuses it: 16 dimensions do not divide by 3.
    refused = IndexSpec("IVF_PQ", params={"nlist": 16, "m": 3})
    with pytest.raises(VectorStackError, match="divided by"):
        store.create_collection(name, default_schema(), index=refused)
    assert not store.has_collection(name), "the collection made before the index failed is dropped again"
    store.create_collection(name, default_schema(), index=IndexSpec("IVF_PQ", params={"nlist": 16, "m": 4}))
    assert store.describe_index(name)["index_type"] == "IVF_PQ", "a retry starts clean"


def test_exist_ok_finishes_a_collection_left_without_its_index(store: VectorStore, collection: str) -> None:
    store.insert(collection, records(5))
    store.drop_index(collection)  # what a process that died after creating the collection leaves
    store.create_collection(collection, default_schema(), exist_ok=True)
    assert store.describe_index(collection)["index_type"] == "HNSW"
    assert store.is_loaded(collection)
    assert store.count(collection) == 5


@pytest.mark.parametrize(
    ("schema", "index", "says"),
    [
        (default_schema(dimension=DIM * 2), None, "dimension 16, declared 32"),
        (default_schema(metric="IP"), None, "metric 'L2', declared 'IP'"),
        (default_schema(), IndexSpec("FLAT"), "index type 'HNSW', declared 'FLAT'"),
        (CollectionSchema(dimension=DIM, metric="L2"), None, "fields"),
    ],
)
def test_exist_ok_refuses_a_collection_that_differs(
    store: VectorStore, collection: str, schema: CollectionSchema, index: IndexSpec | None, says: str
) -> None:
    with pytest.raises(AlreadyExistsError, match=f"different schema or index .*{says}"):
        store.create_collection(collection, schema, index=index, exist_ok=True)
    assert store.describe_index(collection)["metric_type"] == "L2", "the existing collection is left as it was"


# -- finding 5: insert refuses keys already stored; upsert replaces ---------------------------------------
def test_insert_of_a_stored_key_is_refused_and_upsert_replaces(store: VectorStore, collection: str) -> None:
    store.insert(collection, records(10))
    again = records(2, seed=3)  # keys 0 and 1, other vectors
    with pytest.raises(AlreadyExistsError, match=r"primary key\(s\) 0, 1 are stored already.*Use upsert"):
        store.insert(collection, [*records(2, start=50), *again])
    assert store.count(collection) == 10, "nothing of the refused call was written (not even keys 50, 51)"
    stored = store.query(collection, "id == 0", output_fields=["id", "vector", "price"])
    assert len(stored) == 1
    assert np.allclose(stored[0]["vector"], records(1)[0]["vector"]), "the stored row is the first one"
    again[0]["price"] = 99.0
    store.upsert(collection, again)
    assert store.count(collection) == 10
    replaced = store.query(collection, "id == 0", output_fields=["id", "vector", "price"])
    assert len(replaced) == 1
    assert replaced[0]["price"] == 99.0
    assert np.allclose(replaced[0]["vector"], again[0]["vector"])


# -- finding 6: only real vectors of the declared shape, keys of the declared type ------------------------
def _with(field: str, value: object) -> list[dict[str, Any]]:
    row = records(1)[0]
    row[field] = value
    return [row]


@pytest.mark.parametrize(
    ("rows", "says"),
    [
        (_with("vector", np.ones(DIM, dtype=np.complex64)), "real numbers.*complex"),  # was cast, imaginary lost
        (_with("vector", ["x"] * DIM), "real numbers.*<U1"),
        (_with("vector", np.ones(DIM, dtype=object)), "real numbers.*object"),
        (_with("vector", [True] * DIM), "real numbers.*bool"),
        (_with("vector", np.ones((2, DIM // 2))), rf"expected shape \({DIM},\), got \(2, {DIM // 2}\)"),
        (_with("id", True), "whole number in the int64 range"),
        (_with("id", 1.0), "whole number in the int64 range"),
        (_with("id", 2**63), "whole number in the int64 range"),
        (_with("id", [1]), "whole number in the int64 range"),  # was a plain TypeError (unhashable)
        (_with("color", "red"), "undeclared color"),
    ],
)
def test_bad_records_are_refused_and_nothing_is_written(
    store: VectorStore, collection: str, rows: list[dict[str, Any]], says: str
) -> None:
    with pytest.raises(InvalidInputError, match=says):
        store.insert(collection, rows)
    assert store.count(collection) == 0


def test_query_vectors_of_the_wrong_shape_or_kind(store: VectorStore, collection: str) -> None:
    with pytest.raises(DimensionMismatchError, match=rf"expected shape \(n, {DIM}\), got \(2, 4\)"):
        store.search(collection, np.zeros((2, 4)))
    with pytest.raises(InvalidInputError, match="complex"):
        store.search(collection, random_vectors(1) * 1j)
    with pytest.raises(InvalidInputError, match="real numbers in equal-length rows"):
        store.search(collection, [[0.0] * DIM, [0.0]])  # was NumPy's plain ValueError


def test_varchar_keys_are_strings_within_max_length(store: VectorStore, make_collection: Callable[..., str]) -> None:
    name = make_collection(CollectionSchema(dimension=4, metric="L2", id_type="varchar", id_max_length=8))
    vector = [0.1, 0.2, 0.3, 0.4]
    for key, says in ((7, "must be a string"), ("x" * 9, "9 bytes, over its max_length 8")):
        with pytest.raises(InvalidInputError, match=says):
            store.insert(name, [{"id": key, "vector": vector}])
    store.insert(name, [{"id": "a\"b'c", "vector": vector}])  # quotes in a key: the expression escapes them
    assert [row["id"] for row in store.get(name, ["a\"b'c"], output_fields=["id"])] == ["a\"b'c"]
    assert store.delete(name, ids=["a\"b'c"]) == 1


# -- finding 9: the specific class, checked before the server -----------------------------------------
@pytest.mark.parametrize(
    ("call", "error", "says"),
    [
        (lambda s, c: s.delete(c, filter="price >>> 3"), InvalidFilterError, "invalid filter"),
        (lambda s, c: s.delete(c, filter=""), InvalidFilterError, "would match every record"),
        (lambda s, c: s.delete(c, ids=["a"]), InvalidInputError, "int64 range"),
        (lambda s, c: s.query(c, ""), InvalidInputError, "empty filter needs a limit"),
        (lambda s, c: s.iterate(c, batch_size=0), InvalidInputError, "batch_size must be a whole number"),
        (lambda s, c: s.query(c, "id > 0", limit=2.5), InvalidInputError, "limit must be a whole number"),
        (lambda s, c: s.search(c, random_vectors(1), limit=True), InvalidInputError, "limit must be a whole"),
        (lambda s, c: s.query(c, "id > 0", output_fields=["nope"]), InvalidInputError, "'nope' is not a field"),
        (lambda s, c: s.search(c, random_vectors(1), output_fields="id"), InvalidInputError, "list of names"),
        (lambda s, c: s.get(c, ids=["a"]), InvalidInputError, "must be a whole number in the int64 range"),
        (lambda s, c: s.count(c, filter=3), InvalidFilterError, "expression string"),
        (lambda s, c: s.has_collection("has space"), InvalidInputError, "invalid collection name"),
    ],
)
def test_refusals_have_their_specific_class(
    store: VectorStore, collection: str, call: Callable[[VectorStore, str], object], error: type[Exception], says: str
) -> None:
    store.insert(collection, records(3))
    with pytest.raises(error, match=says) as raised:
        call(store, collection)
    assert type(raised.value) is not VectorStackError
    assert "invalid filter None" not in str(raised.value)
    assert store.count(collection) == 3


def test_a_dynamic_collection_accepts_undeclared_output_fields(
    store: VectorStore, make_collection: Callable[..., str]
) -> None:
    name = make_collection(
        CollectionSchema(dimension=DIM, metric="L2", dynamic_fields=True, fields=(FieldSpec("price", "double"),))
    )
    store.insert(name, [{**records(1)[0], "color": "red"} | {"category": "x"}])
    assert store.query(name, "id == 0", output_fields=["color"])[0]["color"] == "red"
