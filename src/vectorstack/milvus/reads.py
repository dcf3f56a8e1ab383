"""Reading a collection: nearest-neighbour search, filtered queries, gets by primary key, exports, counts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vectorstack.errors import InvalidInputError, VectorStackError
from vectorstack.milvus.collections import CollectionStore
from vectorstack.milvus.records import as_matrix
from vectorstack.milvus.schema import DEFAULT_SEARCH_PARAMS, Consistency, check_name
from vectorstack.milvus.validation import (
    MAX_LIMIT,
    check_consistency,
    check_filter,
    check_ids,
    check_limit,
    check_output_fields,
    check_partitions,
    ids_filter,
)


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
        limit = check_limit(limit)
        check_filter(filter)
        check_consistency(consistency)
        if params is not None and not isinstance(params, Mapping):
            raise InvalidInputError(
                f"params must be a mapping of search parameters (e.g. {{'ef': 64}}), got {params!r}"
            )
        partition_names = check_partitions(partitions)
        info = self.info(collection)
        fields = check_output_fields(info, output_fields, ())
        queries = as_matrix(vectors, info.dimension, "query vectors")
        search_params = {"params": {**self._default_search_params(collection, limit), **(params or {})}}
        answer = self._call(
            "search",
            lambda: self._client.search(
                collection,
                data=list(queries),
                limit=limit,
                filter=filter,
                output_fields=fields,
                search_params=search_params,
                partition_names=partition_names,
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
        """Records matching a filter expression; an empty filter needs a limit (Milvus' rule: use iterate to
        read everything)."""
        check_filter(filter)
        if limit is not None:
            limit = check_limit(limit)
        elif not filter.strip():
            raise InvalidInputError(
                f"query on {collection!r} with an empty filter needs a limit from 1 to {MAX_LIMIT}; "
                "pass limit=..., a filter, or use iterate() to read every record"
            )
        check_consistency(consistency)
        partition_names = check_partitions(partitions)
        info = self.info(collection)
        fields = check_output_fields(info, output_fields, ["*"])
        extra: dict[str, Any] = {"limit": limit} if limit is not None else {}
        rows = self._call(
            "query",
            lambda: self._client.query(
                collection,
                filter=filter,
                output_fields=fields,
                partition_names=partition_names,
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
        """The records with these primary keys (those that exist), each key checked against the schema."""
        info = self.info(collection)
        keys = check_ids(info, ids)
        fields = check_output_fields(info, output_fields, ["*"])
        if not keys:
            return []
        expression = ids_filter(info, keys)
        rows = self._call(
            "get",
            lambda: self._client.query(
                collection, filter=expression, output_fields=fields, consistency_level=self.consistency
            ),
            collection=collection,
            filter_expr=expression,
        )
        return [dict(row) for row in rows]

    def iterate(
        self, collection: str, *, batch_size: int = 1000, filter: str = "", output_fields: Sequence[str] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every matching record, in batches: for exports larger than one query may return (16,384). The
        arguments are checked and the iterator opened here, at the call, not at the first batch."""
        batch_size = check_limit(batch_size, "batch_size")
        check_filter(filter)
        info = self.info(collection)
        fields = check_output_fields(info, output_fields, ["*"])
        iterator = self._call(
            "iterate",
            lambda: self._client.query_iterator(collection, batch_size=batch_size, filter=filter, output_fields=fields),
            collection=collection,
            filter_expr=filter,
        )
        return self._batches(collection, iterator)

    def _batches(self, collection: str, iterator: Any) -> Iterator[list[dict[str, Any]]]:
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
        check_name("collection", collection)
        check_filter(filter)
        check_consistency(consistency)
        rows = self._call(
            "count",
            lambda: self._client.query(
                collection, filter=filter, output_fields=["count(*)"], consistency_level=consistency or self.consistency
            ),
            collection=collection,
            filter_expr=filter,
        )
        return int(rows[0]["count(*)"])
