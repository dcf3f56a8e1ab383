"""Index lifecycle (FLAT, IVF_FLAT, HNSW) and partitions: create, fill, search within, drop."""

from __future__ import annotations

import numpy as np
import pytest

from vectorstack.errors import InvalidInputError, NotFoundError
from vectorstack.milvus import IndexSpec, VectorStore

from .conftest import records

pytestmark = [pytest.mark.integration, pytest.mark.milvus]


INDEXES = [
    (IndexSpec("FLAT"), {}),
    (IndexSpec("IVF_FLAT", params={"nlist": 64}), {"nlist": "64"}),
    (IndexSpec("HNSW", metric="IP"), {"M": "16", "efConstruction": "200", "metric_type": "IP"}),
]


def _index_id(value: object) -> str:
    return value.type if isinstance(value, IndexSpec) else ""


@pytest.mark.parametrize(("index", "expected_params"), INDEXES, ids=_index_id)
def test_index_lifecycle(
    store: VectorStore, collection: str, index: IndexSpec, expected_params: dict[str, str]
) -> None:
    store.insert(collection, records(50))
    assert store.describe_index(collection)["index_type"] == "HNSW", "the default index"
    store.drop_index(collection)
    assert store.list_indexes(collection) == []
    with pytest.raises(NotFoundError, match="create_index"):
        store.describe_index(collection)
    store.create_index(collection, index, metric="L2")
    assert store.describe_index(collection)["index_type"] == index.type
    store.load(collection)
    rows = records(50)
    hits = store.search(collection, np.stack([rows[7]["vector"]]), limit=3)
    assert hits[0][0].id == 7


@pytest.mark.real_server("Milvus Lite does not report index build parameters")
@pytest.mark.parametrize(("index", "expected_params"), INDEXES, ids=_index_id)
def test_index_parameters_are_applied(
    store: VectorStore, collection: str, index: IndexSpec, expected_params: dict[str, str]
) -> None:
    store.drop_index(collection)
    store.create_index(collection, index, metric="L2")
    described = store.describe_index(collection)
    assert described["index_type"] == index.type
    for key, value in expected_params.items():
        assert str(described[key]) == value


def test_partitions_hold_their_own_records(store: VectorStore, collection: str) -> None:
    store.create_partition(collection, "europe")
    store.create_partition(collection, "asia")
    assert set(store.list_partitions(collection)) >= {"_default", "europe", "asia"}
    assert store.has_partition(collection, "asia")
    store.insert(collection, records(20, start=0), partition="europe")
    store.insert(collection, records(20, start=100, seed=1), partition="asia")
    store.load(collection)
    query = records(1, start=100, seed=1)[0]["vector"]
    in_europe = store.search(collection, [query], limit=20, partitions=["europe"])[0]
    assert {h.id for h in in_europe} == set(range(20))
    in_asia = store.search(collection, [query], limit=1, partitions=["asia"])[0]
    assert in_asia[0].id == 100
    assert store.count(collection) == 40
    store.drop_partition(collection, "asia")
    assert not store.has_partition(collection, "asia")
    store.load(collection)
    assert store.count(collection) == 20


def test_partition_errors(store: VectorStore, collection: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid partition name"):
        store.create_partition(collection, "no spaces")
    with pytest.raises(NotFoundError):
        store.insert(collection, records(1), partition="nowhere")


@pytest.mark.parametrize("metric", [None, "cosine", "HAMMING"])
def test_create_index_without_a_valid_metric_is_refused_and_changes_nothing(
    store: VectorStore, collection: str, metric: str | None
) -> None:
    """Issue 16, finding 4: with no metric given, create_index used COSINE on an L2 collection."""
    store.drop_index(collection)
    with pytest.raises(InvalidInputError, match="needs the metric"):
        store.create_index(collection, IndexSpec("FLAT"), metric=metric)
    assert store.list_indexes(collection) == [], "nothing was created"
