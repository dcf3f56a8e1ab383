"""Many clients at once, and search quality: HNSW against exact NumPy neighbours."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
import pytest

from vectorstack.config import MilvusConfig
from vectorstack.milvus import CollectionSchema, IndexSpec, VectorStore

from .conftest import random_vectors

pytestmark = [pytest.mark.integration, pytest.mark.milvus]


def test_16_concurrent_clients_insert_and_search_correctly(
    milvus_config: MilvusConfig, store: VectorStore, make_collection: Callable[..., str]
) -> None:
    name = make_collection()
    clients = 16

    def work(client_no: int) -> list[int]:
        with VectorStore(milvus_config) as own:  # each thread its own connection, as separate processes would
            vectors = random_vectors(50, seed=100 + client_no)
            ids = [client_no * 1000 + i for i in range(50)]
            own.insert(
                name,
                [{"id": ids[i], "vector": vectors[i], "category": f"t{client_no}", "price": 0.0} for i in range(50)],
            )
            hits = own.search(name, vectors[[0, 25, 49]], limit=1)
            found = [h[0].id for h in hits]
            assert found == [ids[0], ids[25], ids[49]], f"client {client_no} found {found}"
            return found

    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(work, range(clients)))
    assert len(results) == clients
    assert store.count(name) == clients * 50
    for client_no in range(clients):
        assert store.count(name, filter=f'category == "t{client_no}"') == 50


def test_one_store_shared_by_threads(store: VectorStore, collection: str) -> None:
    vectors = random_vectors(64, seed=3)
    store.insert(collection, [{"id": i, "vector": vectors[i], "category": "s", "price": 1.0} for i in range(64)])

    def search(i: int) -> object:
        return store.search(collection, vectors[[i]], limit=1)[0][0].id

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert list(pool.map(search, range(64))) == list(range(64))


def exact_top_k(base: npt.NDArray[np.float32], queries: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.int64]:
    distances = (queries**2).sum(1)[:, None] - 2 * queries @ base.T + (base**2).sum(1)[None, :]
    return np.argsort(distances, axis=1)[:, :k]


@pytest.mark.slow
def test_hnsw_recall_at_10_is_at_least_095(store: VectorStore, make_collection: Callable[..., str]) -> None:
    rng = np.random.default_rng(42)
    dim, n, n_queries = 64, 20_000, 100
    # Clustered data, as embeddings are: uniform noise in 64-d would make every neighbour equally far.
    centers = rng.normal(size=(50, dim)).astype(np.float32)
    base = (centers[rng.integers(0, 50, n)] + 0.3 * rng.normal(size=(n, dim))).astype(np.float32)
    queries = (centers[rng.integers(0, 50, n_queries)] + 0.3 * rng.normal(size=(n_queries, dim))).astype(np.float32)
    name = make_collection(
        CollectionSchema(dimension=dim, metric="L2"), index=IndexSpec("HNSW", params={"M": 16, "efConstruction": 200})
    )
    store.insert(name, [{"id": i, "vector": base[i]} for i in range(n)])
    store.flush(name)  # seal the segments so that the HNSW index, not brute force, answers
    hits = store.search(name, queries, limit=10, params={"ef": 128})
    truth = exact_top_k(base, queries, 10)
    recall = np.mean([len({h.id for h in hits[q]} & set(truth[q].tolist())) / 10 for q in range(n_queries)])
    assert recall >= 0.95, f"recall@10 = {recall:.3f}"
    assert store.describe_index(name)["index_type"] == "HNSW"
