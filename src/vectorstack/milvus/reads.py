"""Reading a collection: nearest-neighbour search, filtered queries, gets by primary key, exports, counts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vectorstack.errors import InvalidInputError, VectorStackError
from vectorstack.milvus.collections import CollectionStore
from vectorstack.milvus.records import as_matrix
from vectorstack.milvus.schema import DEFAULT_SEARCH_PARAMS, Consistency


@dataclass(frozen=True)
class Hit:
    id: Any
    distance: float
    fields: dict[str, Any]


class ReadStore(CollectionStore):
    """The read calls; each is one round trip, with Strong consistency unless told (reads see writes)."""

    def search(
        self,
        collection: str,
        vectors: Any,
        *,
        limit: int = 10,
        filter: str = "",
        output_fields: Sequence[str] | None = None,
        params: Mapping[str, Any] | None = None,
        partitions: Sequence[str] | None = None,
        consistency: Consistency | None = None,
    ) -> list[list[Hit]]:
        """Nearest neighbours for each query vector, best first, optionally filtered by metadata."""
        if not 1 <= limit <= 16384:
            raise InvalidInputError(f"limit must be from 1 to 16384, got {limit}")
        info = self.info(collection)
        queries = as_matrix(vectors, info.dimension, "query vectors")
        search_params = {"params": {**self._default_search_params(collection, limit), **(params or {})}}
        answer = self._call(
            "search",
            lambda: self._client.search(
                collection,
                data=list(queries),
                limit=limit,
                filter=filter,
                output_fields=list(output_fields or []),
                search_params=search_params,
                partition_names=list(partitions or []),
                anns_field=info.vector_field,
                consistency_level=consistency or self.consistency,
            ),
            collection=collection,
            filter_expr=filter,
        )
        return [
            [Hit(hit["id"], float(hit["distance"]), dict(hit.get("entity", {}))) for hit in hits] for hits in answer
        ]

    def _default_search_params(self, collection: str, limit: int) -> dict[str, Any]:
        with self._lock:
            cached = self._search_params.get(collection)
        if cached is None:
            try:
                index_type = str(self.describe_index(collection).get("index_type", ""))
            except VectorStackError:
                index_type = ""
            cached = dict(DEFAULT_SEARCH_PARAMS.get(index_type, {}))
            with self._lock:
                self._search_params[collection] = cached
        params = dict(cached)
        if "ef" in params:
            params["ef"] = max(int(params["ef"]), limit)  # HNSW needs ef >= limit
        return params

    def query(
        self,
        collection: str,
        filter: str,
        *,
        output_fields: Sequence[str] | None = None,
        limit: int | None = None,
        partitions: Sequence[str] | None = None,
        consistency: Consistency | None = None,
    ) -> list[dict[str, Any]]:
        extra: dict[str, Any] = {"limit": limit} if limit else {}
        rows = self._call(
            "query",
            lambda: self._client.query(
                collection,
                filter=filter,
                output_fields=list(output_fields or ["*"]),
                partition_names=list(partitions or []),
                consistency_level=consistency or self.consistency,
                **extra,
            ),
            collection=collection,
            filter_expr=filter,
        )
        return [dict(row) for row in rows]

    def get(
        self, collection: str, ids: Sequence[Any], *, output_fields: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        if not ids:
            return []
        rows = self._call(
            "get",
            lambda: self._client.get(collection, ids=list(ids), output_fields=list(output_fields or ["*"])),
            collection=collection,
        )
        return [dict(row) for row in rows]

    def iterate(
        self, collection: str, *, batch_size: int = 1000, filter: str = "", output_fields: Sequence[str] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every matching record, in batches: for exports larger than one query may return (16,384)."""
        iterator = self._call(
            "iterate",
            lambda: self._client.query_iterator(
                collection, batch_size=batch_size, filter=filter, output_fields=list(output_fields or ["*"])
            ),
            collection=collection,
        )
        try:
            while True:
                batch = self._call("iterate", iterator.next, collection=collection)
                if not batch:
                    return
                yield [dict(row) for row in batch]
        finally:
            iterator.close()

    def count(self, collection: str, *, filter: str = "", consistency: Consistency | None = None) -> int:
        """Exact count of live records (deleted ones excluded), by default with Strong consistency."""
        rows = self._call(
            "count",
            lambda: self._client.query(
                collection, filter=filter, output_fields=["count(*)"], consistency_level=consistency or self.consistency
            ),
            collection=collection,
            filter_expr=filter,
        )
        return int(rows[0]["count(*)"])
