"""Milvus collections backed up to S3 and restored: identical content and search results, by version."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest

from testservices.state import Endpoint
from vectorstack.config import MilvusConfig
from vectorstack.errors import AlreadyExistsError, NotFoundError
from vectorstack.milvus import CollectionSchema, FieldSpec, IndexSpec, VectorStore
from vectorstack.storage import ObjectStore
from vectorstack.storage.backup import CollectionBackup

pytestmark = [pytest.mark.integration, pytest.mark.storage, pytest.mark.milvus]
DIM = 32
SCHEMA = CollectionSchema(
    dimension=DIM,
    metric="L2",
    fields=(FieldSpec("title", "varchar", max_length=64), FieldSpec("year", "int64")),
    dynamic_fields=True,
)


@pytest.fixture
def store(milvus_service: Endpoint) -> Iterator[VectorStore]:
    with VectorStore(MilvusConfig.from_env(milvus_service.env)) as own:
        yield own


@pytest.fixture
def collection_name(
    store: VectorStore, unique_name: Callable[[str], str], cleanup: Callable[..., None]
) -> Callable[[], str]:
    def make() -> str:
        name = unique_name("bk")
        cleanup(store.drop_collection, name)
        return name

    return make


def fill(store: VectorStore, name: str, start: int, count: int) -> np.ndarray:
    vectors = np.random.default_rng(start).random((count, DIM)).astype(np.float32)
    store.insert(
        name,
        [
            {
                "id": start + i,
                "vector": vectors[i],
                "title": f"doc {start + i}",
                "year": 2000 + (start + i) % 25,
                "extra": {"tag": "dyn"},
            }
            for i in range(count)
        ],
    )
    return vectors


def test_backup_drop_restore_gives_identical_results(
    store: VectorStore, objects: ObjectStore, bucket: str, collection_name: Callable[[], str]
) -> None:
    name = collection_name()
    store.create_collection(name, SCHEMA, index=IndexSpec("HNSW", params={"M": 8, "efConstruction": 64}))
    vectors = fill(store, name, 0, 1200)
    queries = vectors[[3, 500, 1199]] + 0.01
    before = store.search(name, queries, limit=10, output_fields=["title", "year", "extra"])
    backups = CollectionBackup(store, objects, bucket, chunk_rows=500)
    info = backups.backup(name)
    assert (info.rows, info.chunks) == (1200, 3)
    store.drop_collection(name)
    assert not store.has_collection(name)
    restored = backups.restore(name)
    assert restored.rows == 1200
    assert store.describe_index(name)["index_type"] == "HNSW"
    after = store.search(name, queries, limit=10, output_fields=["title", "year", "extra"])
    assert [[h.id for h in q] for q in after] == [[h.id for h in q] for q in before]
    assert [[round(h.distance, 4) for h in q] for q in after] == [[round(h.distance, 4) for h in q] for q in before]
    assert after[1][0].fields == before[1][0].fields
    row = store.get(name, [500], output_fields=["vector", "title"])[0]
    np.testing.assert_array_equal(np.asarray(row["vector"], dtype=np.float32), vectors[500])


def test_versions_restore_the_state_of_their_time(
    store: VectorStore, objects: ObjectStore, bucket: str, collection_name: Callable[[], str]
) -> None:
    name, old_copy = collection_name(), collection_name()
    store.create_collection(name, SCHEMA)
    fill(store, name, 0, 100)
    backups = CollectionBackup(store, objects, bucket)
    first = backups.backup(name)
    fill(store, name, 100, 50)
    second = backups.backup(name)
    assert backups.versions(name) == [first.version, second.version]
    assert backups.restore(name, version=first.version, into=old_copy).rows == 100
    assert store.count(old_copy) == 100
    assert store.count(name) == 150
    with pytest.raises(AlreadyExistsError):
        backups.restore(name)
    with pytest.raises(NotFoundError, match="no backup version 'nope'"):
        backups.restore(name, version="nope", into=collection_name())
    with pytest.raises(NotFoundError, match="no backup of"):
        backups.restore(collection_name())


def test_an_empty_collection_backs_up_and_restores(
    store: VectorStore, objects: ObjectStore, bucket: str, collection_name: Callable[[], str]
) -> None:
    name, copy = collection_name(), collection_name()
    store.create_collection(name, SCHEMA)
    backups = CollectionBackup(store, objects, bucket)
    info = backups.backup(name)
    assert (info.rows, info.chunks) == (0, 0)
    assert backups.restore(name, into=copy).rows == 0
    assert store.info(copy).dimension == DIM
