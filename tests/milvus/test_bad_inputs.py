"""Generated bad inputs for every public call of VectorStore (issue 16): each is refused with the library's
specific error class, in time, and the seeded collection reads back unchanged (count, keys, vectors,
metadata, index and partitions) after the examples; no collection named in an example comes to exist.

One collection per xdist worker, seeded once for the module; nearly every refusal happens on the client,
and the few that need the server (stored keys, filters its parser refuses, a collection that exists
with another schema) are drawn from short lists, so the file runs in seconds.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.bad_input import BAD_INPUT_SETTINGS, Refusals
from vectorstack.config import MilvusConfig
from vectorstack.errors import BatchWriteError, VectorStackError
from vectorstack.milvus import CollectionSchema, FieldSpec, IndexSpec, VectorStore

from . import bad_arguments as bad
from .conftest import default_schema

pytestmark = [pytest.mark.integration, pytest.mark.milvus]

SEEDED = 20
MORE = settings(BAD_INPUT_SETTINGS, max_examples=45)


@dataclass(frozen=True)
class Seeded:
    """The collection every example aims at, and a valid name that no example may bring into being."""

    name: str
    fresh: str


def _snapshot(store: VectorStore, name: str) -> tuple[Any, ...]:
    rows = sorted(store.query(name, "id >= 0", output_fields=list(bad.FIELDS)), key=lambda row: row["id"])
    index = store.describe_index(name)
    return (
        store.count(name),
        [(row["id"], row["category"], row["price"]) for row in rows],
        np.asarray([row["vector"] for row in rows], dtype=np.float32).tobytes(),
        (index["index_type"], index["metric_type"]),
        sorted(store.list_partitions(name)),
    )


@pytest.fixture(scope="module")
def seeded(store: VectorStore) -> Iterator[Seeded]:
    tag = f"{os.environ.get('TESTSERVICES_RUN_ID', 'local')[-6:]}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    name, fresh = f"bad_{tag}_{uuid.uuid4().hex[:6]}", f"never_{tag}_{uuid.uuid4().hex[:6]}"
    store.create_collection(name, default_schema())
    try:
        store.create_partition(name, "p1")
        rows = bad.good_rows(SEEDED, start=0)
        for row in rows:
            row["category"] = f"c{row['id'] % 3}"
            row["price"] = float(row["id"])
        store.insert(name, rows)
        yield Seeded(name, fresh)
    finally:
        store.drop_collection(name)
        store.drop_collection(fresh)


@pytest.fixture
def unchanged(store: VectorStore, seeded: Seeded) -> Iterator[None]:
    """Reads the seeded collection before and after the test: the examples must leave it as it was."""
    before = _snapshot(store, seeded.name)
    assert before[0] == SEEDED
    yield
    assert _snapshot(store, seeded.name) == before, "a refused call changed the stored data"
    assert not store.has_collection(seeded.fresh), "a refused create_collection left a collection behind"


def refuse(refusals: Refusals, call: Callable[[], object], what: str) -> None:
    """The contract, and one step further: the class says which kind of refusal it was (never the generic
    base class, nor a batch failure for input the client could have checked)."""
    error = refusals.check(call, what[:300])
    assert type(error) not in (VectorStackError, BatchWriteError), f"{what[:300]}: generic {error!r}"


def _collection_calls(store: VectorStore, name: Any) -> list[tuple[str, Callable[[], object]]]:
    rows = bad.good_rows(1)
    return [
        ("has_collection", lambda: store.has_collection(name)),
        ("describe_collection", lambda: store.describe_collection(name)),
        ("info", lambda: store.info(name)),
        ("load", lambda: store.load(name)),
        ("release", lambda: store.release(name)),
        ("is_loaded", lambda: store.is_loaded(name)),
        ("wait_loaded", lambda: store.wait_loaded(name, 1)),
        ("drop_collection", lambda: store.drop_collection(name)),
        ("create_collection", lambda: store.create_collection(name, default_schema())),
        ("count", lambda: store.count(name)),
        ("flush", lambda: store.flush(name)),
        ("insert", lambda: store.insert(name, rows)),
        ("upsert", lambda: store.upsert(name, rows)),
        ("delete", lambda: store.delete(name, ids=[1])),
        ("get", lambda: store.get(name, [1])),
        ("query", lambda: store.query(name, "id > 0")),
        ("search", lambda: store.search(name, rows[0]["vector"])),
        ("iterate", lambda: store.iterate(name)),
        ("create_index", lambda: store.create_index(name, IndexSpec("FLAT"), metric="L2")),
        ("describe_index", lambda: store.describe_index(name)),
        ("list_indexes", lambda: store.list_indexes(name)),
        ("drop_index", lambda: store.drop_index(name)),
        ("create_partition", lambda: store.create_partition(name, "p2")),
        ("list_partitions", lambda: store.list_partitions(name)),
        ("has_partition", lambda: store.has_partition(name, "p1")),
        ("drop_partition", lambda: store.drop_partition(name, "p1")),
    ]


CALLS_BY_NAME = len(_collection_calls(None, None))  # type: ignore[arg-type]


@MORE
@given(name=bad.bad_names, which=st.integers(0, CALLS_BY_NAME - 1))
def test_every_call_refuses_a_bad_collection_name(
    store: VectorStore, unchanged: None, refusals: Refusals, name: Any, which: int
) -> None:
    label, call = _collection_calls(store, name)[which]
    refuse(refusals, call, f"{label}({name!r})")


@MORE
@given(operation=st.sampled_from(["insert", "upsert"]), records=bad.bad_record_lists)
def test_writes_refuse_bad_records(
    store: VectorStore, seeded: Seeded, unchanged: None, refusals: Refusals, operation: str, records: Any
) -> None:
    write = store.insert if operation == "insert" else store.upsert
    refuse(refusals, lambda: write(seeded.name, records), f"{operation}({records!r})")


@BAD_INPUT_SETTINGS
@given(
    case=st.one_of(
        st.tuples(st.just("stored key"), st.lists(st.integers(0, SEEDED - 1), min_size=1, max_size=3, unique=True)),
        st.tuples(st.just("partition"), bad.bad_names.filter(lambda n: n is not None)),
    )
)
def test_insert_refuses_stored_keys_and_bad_partitions(
    store: VectorStore, seeded: Seeded, unchanged: None, refusals: Refusals, case: tuple[str, Any]
) -> None:
    kind, value = case
    if kind == "stored key":  # new vectors and metadata under keys already stored: insert must not add rows
        rows = [{**row, "id": key} for row, key in zip(bad.good_rows(len(value)), value, strict=True)]
        refuse(refusals, lambda: store.insert(seeded.name, rows), f"insert of stored keys {value}")
    else:
        operation = store.insert if len(str(value)) % 2 else store.upsert
        refuse(refusals, lambda: operation(seeded.name, bad.good_rows(2), partition=value), f"partition={value!r}")


def _search_cases(name: str) -> st.SearchStrategy[tuple[str, Callable[[VectorStore], object]]]:
    vector = bad.good_rows(1)[0]["vector"]

    def case(label: str, strategy: st.SearchStrategy[Any], call: Callable[[VectorStore, Any], object]) -> Any:
        return strategy.map(lambda value: (f"{label}={value!r}", lambda s: call(s, value)))

    return st.one_of(
        case("vectors", bad.bad_query_vectors, lambda s, v: s.search(name, v)),
        case("limit", bad.bad_limits | st.none(), lambda s, v: s.search(name, vector, limit=v)),
        case("filter", bad.bad_filter_types, lambda s, v: s.search(name, vector, filter=v)),
        case("filter", bad.unparsable_filters, lambda s, v: s.search(name, vector, filter=v)),
        case("output_fields", bad.bad_output_fields, lambda s, v: s.search(name, vector, output_fields=v)),
        case("params", st.sampled_from(["ef=64", 64, [("ef", 64)]]), lambda s, v: s.search(name, vector, params=v)),
        case("partitions", bad.bad_partition_lists, lambda s, v: s.search(name, vector, partitions=v)),
        case("consistency", bad.bad_consistency, lambda s, v: s.search(name, vector, consistency=v)),
    )


def _read_cases(name: str) -> st.SearchStrategy[tuple[str, Callable[[VectorStore], object]]]:
    def case(label: str, strategy: st.SearchStrategy[Any], call: Callable[[VectorStore, Any], object]) -> Any:
        return strategy.map(lambda value: (f"{label}={value!r}", lambda s: call(s, value)))

    return st.one_of(
        case("query filter", bad.bad_filter_types, lambda s, v: s.query(name, v)),
        case("query filter", bad.unparsable_filters, lambda s, v: s.query(name, v)),
        case("query empty filter, no limit", st.sampled_from(["", "  "]), lambda s, v: s.query(name, v)),
        case("query limit", bad.bad_limits, lambda s, v: s.query(name, "id >= 0", limit=v)),
        case("query output_fields", bad.bad_output_fields, lambda s, v: s.query(name, "id >= 0", output_fields=v)),
        case("query partitions", bad.bad_partition_lists, lambda s, v: s.query(name, "id >= 0", partitions=v)),
        case("query consistency", bad.bad_consistency, lambda s, v: s.query(name, "id >= 0", consistency=v)),
        case("get ids", bad.bad_key_lists, lambda s, v: s.get(name, v)),
        case("get output_fields", bad.bad_output_fields, lambda s, v: s.get(name, [1], output_fields=v)),
        case("iterate batch_size", bad.bad_batch_sizes, lambda s, v: s.iterate(name, batch_size=v)),
        case("iterate filter", bad.bad_filter_types, lambda s, v: s.iterate(name, filter=v)),
        case("iterate output_fields", bad.bad_output_fields, lambda s, v: s.iterate(name, output_fields=v)),
        case("count filter", bad.bad_filter_types | bad.unparsable_filters, lambda s, v: s.count(name, filter=v)),
        case("count consistency", bad.bad_consistency, lambda s, v: s.count(name, consistency=v)),
    )


@MORE
@given(data=st.data())
def test_search_refuses_bad_arguments(
    store: VectorStore, seeded: Seeded, unchanged: None, refusals: Refusals, data: st.DataObject
) -> None:
    label, call = data.draw(_search_cases(seeded.name))
    refuse(refusals, lambda: call(store), f"search {label}")


@MORE
@given(data=st.data())
def test_reads_refuse_bad_arguments(
    store: VectorStore, seeded: Seeded, unchanged: None, refusals: Refusals, data: st.DataObject
) -> None:
    label, call = data.draw(_read_cases(seeded.name))
    refuse(refusals, lambda: call(store), label)


@BAD_INPUT_SETTINGS
@given(
    case=st.one_of(
        bad.bad_key_lists.map(lambda v: ("ids", {"ids": v})),
        bad.bad_filter_types.filter(lambda v: v is not None).map(lambda v: ("filter", {"filter": v})),
        st.sampled_from(["", " ", "\n"]).map(lambda v: ("empty filter", {"filter": v})),
        bad.unparsable_filters.map(lambda v: ("unparsable filter", {"filter": v})),
        st.just(("neither", {})),
        st.lists(st.integers(0, SEEDED - 1), min_size=1, max_size=3).map(
            lambda ids: ("both", {"ids": ids, "filter": "id >= 0"})
        ),
        bad.bad_names.filter(lambda n: n is not None).map(lambda p: ("partition", {"ids": [1], "partition": p})),
    )
)
def test_delete_refuses_bad_arguments(
    store: VectorStore, seeded: Seeded, unchanged: None, refusals: Refusals, case: tuple[str, dict[str, Any]]
) -> None:
    label, kwargs = case
    refuse(refusals, lambda: store.delete(seeded.name, **kwargs), f"delete {label}: {kwargs!r}")


def _lifecycle_cases(seeded: Seeded) -> st.SearchStrategy[tuple[str, Callable[[VectorStore], object]]]:
    name, fresh, schema = seeded.name, seeded.fresh, default_schema()

    def case(label: str, strategy: st.SearchStrategy[Any], call: Callable[[VectorStore, Any], object]) -> Any:
        return strategy.map(lambda value: (f"{label}={value!r}", lambda s: call(s, value)))

    not_spec = st.sampled_from([None, "HNSW", {"type": "HNSW"}, 3])
    return st.one_of(
        case("create schema", not_spec | st.just(schema.__dict__), lambda s, v: s.create_collection(fresh, v)),
        case("create index", not_spec.filter(bool), lambda s, v: s.create_collection(fresh, schema, index=v)),
        case("create consistency", bad.bad_consistency, lambda s, v: s.create_collection(fresh, schema, consistency=v)),
        case("create load", bad.bad_flags, lambda s, v: s.create_collection(fresh, schema, load=v)),
        case("create exist_ok", bad.bad_flags, lambda s, v: s.create_collection(fresh, schema, exist_ok=v)),
        case(
            "create existing, other schema",
            st.sampled_from([default_schema(dimension=8), default_schema(metric="IP"), CollectionSchema(dimension=16)]),
            lambda s, v: s.create_collection(name, v, exist_ok=True),
        ),
        case("create existing", st.just(schema), lambda s, v: s.create_collection(name, v)),
        case("create_index index", not_spec, lambda s, v: s.create_index(name, v, metric="L2")),
        case(
            "create_index metric", bad.bad_consistency, lambda s, v: s.create_index(name, IndexSpec("FLAT"), metric=v)
        ),
        case("load partitions", bad.bad_partition_lists, lambda s, v: s.load(name, v)),
        case("wait_loaded timeout", bad.bad_seconds, lambda s, v: s.wait_loaded(name, v)),
        case("drop_collection missing_ok", bad.bad_flags, lambda s, v: s.drop_collection(name, missing_ok=v)),
        case("create_partition", bad.bad_names, lambda s, v: s.create_partition(name, v)),
        case("has_partition", bad.bad_names, lambda s, v: s.has_partition(name, v)),
        case("drop_partition", bad.bad_names, lambda s, v: s.drop_partition(name, v)),
    )


@MORE
@given(data=st.data())
def test_collection_index_and_partition_calls_refuse_bad_arguments(
    store: VectorStore, seeded: Seeded, unchanged: None, refusals: Refusals, data: st.DataObject
) -> None:
    label, call = data.draw(_lifecycle_cases(seeded))
    refuse(refusals, lambda: call(store), label)


_SPECS: list[tuple[str, st.SearchStrategy[Any], Callable[[Any], object]]] = [
    (
        "dimension",
        st.integers(max_value=0) | st.integers(min_value=32769) | bad.bad_flags,
        lambda v: CollectionSchema(v),
    ),
    ("metric", bad.bad_consistency, lambda v: CollectionSchema(8, metric=v)),
    ("primary_key", bad.bad_names, lambda v: CollectionSchema(8, primary_key=v)),
    ("id_type", bad.bad_consistency, lambda v: CollectionSchema(8, id_type=v)),
    (
        "id_max_length",
        bad.bad_limits.filter(lambda v: not isinstance(v, int) or v > 65535 or v < 1),
        lambda v: CollectionSchema(8, id_type="varchar", id_max_length=v),
    ),
    ("fields", st.sampled_from([("price",), "price", [1]]), lambda v: CollectionSchema(8, fields=v)),
    ("field name", bad.bad_names, lambda v: FieldSpec(v, "int64")),
    ("field type", bad.bad_consistency, lambda v: FieldSpec("f", v)),
    (
        "varchar max_length",
        bad.bad_limits.filter(lambda v: not isinstance(v, int) or v > 65535),
        lambda v: FieldSpec("f", "varchar", max_length=v),
    ),
    ("index type", bad.bad_consistency, lambda v: IndexSpec(v)),
    ("index metric", bad.bad_consistency.filter(bool), lambda v: IndexSpec("HNSW", metric=v)),
    ("index M", bad.bad_limits | st.integers(2049, 10**6), lambda v: IndexSpec("HNSW", params={"M": v})),
    (
        "index nlist",
        bad.bad_limits.filter(lambda v: not isinstance(v, int) or v > 65536),
        lambda v: IndexSpec("IVF_FLAT", params={"nlist": v}),
    ),
    ("index params", st.sampled_from(["M=8", 8, [("M", 8)]]), lambda v: IndexSpec("HNSW", params=v)),
    ("config timeout", bad.bad_seconds.filter(lambda v: v is not None), lambda v: MilvusConfig(timeout=v)),
    (
        "store max_batch_bytes",
        bad.bad_limits.filter(lambda v: not isinstance(v, int) or v < 1),
        lambda v: VectorStore(MilvusConfig(uri="http://127.0.0.1:1"), max_batch_bytes=v),
    ),
    (
        "store consistency",
        bad.bad_consistency,
        lambda v: VectorStore(MilvusConfig(uri="http://127.0.0.1:1"), consistency=v),
    ),
]


@MORE
@given(data=st.data(), which=st.integers(0, len(_SPECS) - 1))
def test_specs_and_settings_refuse_bad_values(refusals: Refusals, data: st.DataObject, which: int) -> None:
    """Declared specs and the store's own settings are refused where they are built (the store before it
    connects: its address here is a closed port, so a refusal that came later would be an outage)."""
    label, strategy, build = _SPECS[which]
    value = data.draw(strategy)
    refuse(refusals, lambda: build(value), f"{label}={value!r}")
