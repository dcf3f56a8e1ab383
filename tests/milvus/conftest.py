"""Fixtures for the Milvus suite: a store per worker on the shared server, a fresh collection per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from testservices.state import Endpoint
from vectorstack.config import MilvusConfig
from vectorstack.milvus import CollectionSchema, FieldSpec, IndexSpec, VectorStore

DIM = 16


@pytest.fixture(autouse=True)
def _real_server_only(request: pytest.FixtureRequest, milvus_service: Endpoint) -> None:
    """Tests marked `real_server` check what only real Milvus does; Milvus Lite behaves otherwise."""
    marker = request.node.get_closest_marker("real_server")
    if marker and milvus_service.env.get("MILVUS_FLAVOR") == "lite":
        pytest.skip(f"Milvus Lite differs from real Milvus here: {marker.args[0] if marker.args else 'see test'}")


@pytest.fixture(scope="session")
def milvus_config(milvus_service: Endpoint) -> MilvusConfig:
    return MilvusConfig.from_env(milvus_service.env)


@pytest.fixture(scope="session")
def store(milvus_config: MilvusConfig) -> Iterator[VectorStore]:
    with VectorStore(milvus_config) as shared:
        yield shared


@pytest.fixture
def make_collection(
    store: VectorStore, unique_name: Callable[[str], str], cleanup: Callable[..., None]
) -> Callable[..., str]:
    """Create a uniquely named collection that is dropped when the test ends, pass or fail."""

    def make(schema: CollectionSchema | None = None, index: IndexSpec | None = None, **kwargs: object) -> str:
        name = unique_name("coll")
        cleanup(store.drop_collection, name)
        store.create_collection(name, schema or default_schema(), index=index, **kwargs)  # type: ignore[arg-type]
        return name

    return make


@pytest.fixture
def collection(make_collection: Callable[..., str]) -> str:
    return make_collection()


def default_schema(dimension: int = DIM, metric: str = "L2", **kwargs: object) -> CollectionSchema:
    return CollectionSchema(
        dimension=dimension,
        metric=metric,  # type: ignore[arg-type]
        fields=(FieldSpec("category", "varchar", max_length=32), FieldSpec("price", "double")),
        **kwargs,  # type: ignore[arg-type]
    )


def random_vectors(n: int, dim: int = DIM, seed: int = 0) -> npt.NDArray[np.float32]:
    return np.random.default_rng(seed).random((n, dim), dtype=np.float32)


def records(n: int, dim: int = DIM, start: int = 0, seed: int = 0) -> list[dict[str, Any]]:
    vectors = random_vectors(n, dim, seed)
    return [
        {"id": start + i, "vector": vectors[i], "category": f"c{(start + i) % 3}", "price": float(start + i)}
        for i in range(n)
    ]
