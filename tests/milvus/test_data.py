"""Writes and reads: insert, upsert, search with filters, query, get, delete, counts, and bad input."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

from vectorstack.errors import (
    BatchWriteError,
    DimensionMismatchError,
    InvalidFilterError,
    InvalidInputError,
    ValueTooLargeError,
)
from vectorstack.milvus import VectorStore
from vectorstack.milvus.records import record_size

from .conftest import DIM, default_schema, random_vectors, records

pytestmark = [pytest.mark.integration, pytest.mark.milvus]


def test_insert_then_search_finds_each_vector_itself(store: VectorStore, collection: str) -> None:
    rows = records(200)
    result = store.insert(collection, rows)
    assert result.count == 200
    assert sorted(result.ids) == list(range(200))
    assert store.count(collection) == 200
    queries = np.stack([rows[i]["vector"] for i in (0, 57, 199)])
    hits = store.search(collection, queries, limit=5, output_fields=["category", "price"])
    assert [h[0].id for h in hits] == [0, 57, 199]
    assert all(h[0].distance == pytest.approx(0.0, abs=1e-4) for h in hits)
    assert hits[1][0].fields == {"category": "c0", "price": 57.0}
    assert all(len(h) == 5 for h in hits)
    assert all(h[i].distance <= h[i + 1].distance for h in hits for i in range(4)), "best first"


def test_search_with_a_metadata_filter(store: VectorStore, collection: str) -> None:
    store.insert(collection, records(90))
    hits = store.search(
        collection,
        random_vectors(2, seed=9),
        limit=10,
        filter='category == "c1" and price < 50',
        output_fields=["category", "price"],
    )
    assert len(hits) == 2, "one result list per query"
    for per_query in hits:
        assert per_query, "the filter leaves 17 candidates"
        assert all(h.fields["category"] == "c1" and h.fields["price"] < 50 for h in per_query)


def test_query_get_and_counts_with_filters(store: VectorStore, collection: str) -> None:
    store.insert(collection, records(30))
    rows = store.query(collection, "price >= 25", output_fields=["id", "price"])
    assert sorted(r["id"] for r in rows) == [25, 26, 27, 28, 29]
    got = store.get(collection, [3, 4], output_fields=["id", "category", "vector"])
    assert sorted(r["id"] for r in got) == [3, 4]
    assert len(got[0]["vector"]) == DIM
    assert store.count(collection, filter='category == "c2"') == 10
    assert store.query(collection, "id > 1000") == []


def test_delete_by_ids_and_by_filter(store: VectorStore, collection: str) -> None:
    store.insert(collection, records(20))
    assert store.delete(collection, ids=[0, 1, 2]) == 3
    assert store.count(collection) == 17
    store.delete(collection, filter="price >= 15")
    assert store.count(collection) == 12
    assert store.get(collection, [0, 15]) == []
    assert store.delete(collection, ids=[]) == 0
    with pytest.raises(InvalidInputError, match="either ids or a filter"):
        store.delete(collection)


def test_upsert_replaces_by_primary_key(store: VectorStore, collection: str) -> None:
    store.insert(collection, records(10))
    changed = records(3, seed=5)
    for row in changed:
        row["category"] = "updated"
    result = store.upsert(collection, changed)
    assert result.count == 3
    assert store.count(collection) == 10
    assert store.count(collection, filter='category == "updated"') == 3
    store.upsert(collection, changed)
    assert store.count(collection) == 10, "upserting again changes nothing"


def test_duplicate_ids_in_one_insert_are_refused_and_nothing_is_written(store: VectorStore, collection: str) -> None:
    rows = records(5)
    rows[4]["id"] = 1
    with pytest.raises(InvalidInputError, match=r"primary key 1 appears twice \(records 1 and 4\); use upsert"):
        store.insert(collection, rows)
    assert store.count(collection) == 0


def test_wrong_dimension_is_refused_with_both_sizes(store: VectorStore, collection: str) -> None:
    rows = records(3)
    rows[2]["vector"] = np.zeros(DIM + 1, dtype=np.float32)
    with pytest.raises(DimensionMismatchError, match=f"record 2 .*expected {DIM}, got {DIM + 1}"):
        store.insert(collection, rows)
    assert store.count(collection) == 0, "a bad record stops the whole call before anything is written"
    with pytest.raises(DimensionMismatchError, match=f"expected {DIM}, got 3"):
        store.search(collection, [[0.1, 0.2, 0.3]])


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_and_infinite_vectors_are_refused(store: VectorStore, collection: str, bad: float) -> None:
    rows = records(2)
    rows[1]["vector"] = np.full(DIM, bad, dtype=np.float32)
    with pytest.raises(InvalidInputError, match=r"record 1 .*NaN or infinity"):
        store.insert(collection, rows)
    with pytest.raises(InvalidInputError, match="NaN or infinity"):
        store.search(collection, np.full((1, DIM), bad))
    assert store.count(collection) == 0


def test_missing_fields_and_wrong_types_are_refused(store: VectorStore, collection: str) -> None:
    with pytest.raises(InvalidInputError, match="no 'vector'"):
        store.insert(collection, [{"id": 1, "category": "x", "price": 1.0}])
    with pytest.raises(InvalidInputError, match="no primary key 'id'"):
        store.insert(collection, [{"vector": random_vectors(1)[0], "category": "x", "price": 1.0}])
    with pytest.raises(InvalidInputError, match="list of records"):
        store.insert(collection, records(1)[0])  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="limit"):
        store.search(collection, random_vectors(1), limit=0)


@pytest.mark.parametrize("expression", ["price >>> 3", "category == ", "id in [1, 2"])
def test_invalid_filter_names_the_expression(store: VectorStore, collection: str, expression: str) -> None:
    store.insert(collection, records(5))
    with pytest.raises(InvalidFilterError, match="invalid filter"):
        store.query(collection, expression)


def test_large_writes_are_split_into_batches_by_bytes(store: VectorStore, make_collection: Callable[..., str]) -> None:
    name = make_collection()
    small = VectorStore(store.config, max_batch_bytes=4096)
    try:
        result = small.insert(name, records(300))
        assert result.count == 300
        assert len(result.batches) >= 8, "300 records of ~130 bytes in batches of at most 4 KiB"
        assert all(b.nbytes <= 4096 for b in result.batches)
        assert [b.first for b in result.batches] == sorted(b.first for b in result.batches)
        assert sum(b.count for b in result.batches) == 300
        assert store.count(name) == 300
        tiny = VectorStore(store.config, max_batch_bytes=32)
        with pytest.raises(ValueTooLargeError, match=r"record 0 is .* over the limit of 32 bytes"):
            tiny.insert(name, records(1))
        tiny.close()
    finally:
        small.close()


def test_a_batch_the_server_refuses_is_reported_and_the_others_are_written(
    store: VectorStore, make_collection: Callable[..., str]
) -> None:
    name = make_collection(default_schema())
    rows = records(6)
    rows[3]["category"] = "x" * 100  # over the field's max_length of 32: only the server knows
    # A limit that fits the largest record but never two records: one batch per record.
    one_per_batch = VectorStore(store.config, max_batch_bytes=record_size(rows[3], "vector") + 1)
    try:
        with pytest.raises(BatchWriteError, match="5 records written, 1 batches failed: records 3-3") as info:
            one_per_batch.insert(name, rows)
        assert [(f.first, f.last) for f in info.value.failed] == [(3, 3)]
        assert re.search("max.length", info.value.failed[0].error)
        assert sorted(r["id"] for r in store.query(name, "id >= 0", output_fields=["id"])) == [0, 1, 2, 4, 5]
    finally:
        one_per_batch.close()


@pytest.mark.slow
def test_batch_insert_of_100000_vectors(store: VectorStore, make_collection: Callable[..., str]) -> None:
    name = make_collection(default_schema(dimension=128))
    vectors = random_vectors(100_000, 128, seed=1)
    result = store.insert(
        name, [{"id": i, "vector": vectors[i], "category": "bulk", "price": float(i)} for i in range(100_000)]
    )
    assert result.count == 100_000
    assert len(result.batches) >= 3, "51 MB of vectors cannot go in one 16 MiB request"
    assert store.count(name) == 100_000
    hits = store.search(name, vectors[[12_345, 99_999]], limit=1)
    assert [h[0].id for h in hits] == [12_345, 99_999]
