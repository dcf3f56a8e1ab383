"""The vector index of a collection: create (with its metric, never a guessed one), describe, list, drop."""

from __future__ import annotations

from typing import Any

from pymilvus import MilvusClient
from pymilvus.milvus_client.index import IndexParams

from vectorstack.errors import InvalidInputError
from vectorstack.milvus.catalog import Catalog
from vectorstack.milvus.errors import translate
from vectorstack.milvus.schema import METRICS, IndexSpec, check_name


def index_params(client: MilvusClient, vector_field: str, index: IndexSpec, metric: str) -> IndexParams:
    """The driver's description of one vector index (shared by create_collection and create_index)."""
    params = client.prepare_index_params()
    params.add_index(vector_field, index_type=index.type, metric_type=metric, params=index.build_params())
    return params


class IndexStore(Catalog):
    """Index calls on top of the catalog; any change of index forgets the cached search parameters."""

    def create_index(self, collection: str, index: IndexSpec, *, metric: str | None = None) -> None:
        """Index the vector field. The metric is required (the IndexSpec's, else `metric`): Milvus keeps it on
        the index alone, so a dropped index's metric is not remembered, and guessing one (COSINE, once)
        silently changed an L2 collection's ranking."""
        if not isinstance(index, IndexSpec):
            raise InvalidInputError(f"index must be an IndexSpec, got {type(index).__name__}")
        chosen = index.metric or metric
        if chosen not in METRICS:
            raise InvalidInputError(
                f"create_index on {collection!r} needs the metric, L2, IP or COSINE (upper case), got {chosen!r}: "
                "pass metric=... or IndexSpec(metric=...), the one the collection was created with"
            )
        info = self.info(collection)
        params = index_params(self._client, info.vector_field, index, chosen)
        with self._lock:
            self._search_params.pop(collection, None)
        self._call("create_index", lambda: self._client.create_index(collection, params), collection=collection)

    def describe_index(self, collection: str) -> dict[str, Any]:
        info = self.info(collection)
        answer = self._call(
            "describe_index", lambda: self._client.describe_index(collection, info.vector_field), collection=collection
        )
        if not answer:
            raise translate(
                KeyError("index not found"),
                "describe_index",
                address=self.config.address,
                timeout=self.config.timeout,
                collection=collection,
            )
        return dict(answer)

    def list_indexes(self, collection: str) -> list[str]:
        check_name("collection", collection)
        return list(self._call("list_indexes", lambda: self._client.list_indexes(collection), collection=collection))

    def drop_index(self, collection: str) -> None:
        """Drop the vector index; Milvus requires the collection released first, so this releases it."""
        info = self.info(collection)
        self.release(collection)
        with self._lock:
            self._search_params.pop(collection, None)
        self._call("drop_index", lambda: self._client.drop_index(collection, info.vector_field), collection=collection)
