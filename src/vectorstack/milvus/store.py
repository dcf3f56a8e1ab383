"""`VectorStore`: collections, writes, searches, indexes and partitions on Milvus, through pymilvus.

One store holds one gRPC connection; it is safe to share between threads (gRPC channels are), which is
how the tests drive 16 concurrent clients. Driver errors become the library's own (see errors.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pymilvus import DataType
from tenacity import RetryError, Retrying, retry_if_exception, retry_if_result, stop_after_delay, wait_fixed

from vectorstack.config import MilvusConfig
from vectorstack.errors import (
    AlreadyExistsError,
    BatchWriteError,
    CollectionNotFoundError,
    CollectionNotLoadedError,
    FailedBatch,
    InvalidInputError,
    NotFoundError,
    UnsupportedOperationError,
    VectorStackError,
)
from vectorstack.milvus.connection import MilvusConnection
from vectorstack.milvus.errors import translate
from vectorstack.milvus.records import (
    DEFAULT_MAX_BATCH_BYTES,
    BatchResult,
    CollectionInfo,
    WriteResult,
    as_matrix,
    batches,
    prepare,
)
from vectorstack.milvus.schema import (
    DEFAULT_SEARCH_PARAMS,
    METRICS,
    CollectionSchema,
    Consistency,
    IndexSpec,
    check_name,
)
from vectorstack.retry import is_transient
from vectorstack.tracking import Tracker

FIELD_TYPES = {
    "int64": DataType.INT64,
    "int32": DataType.INT32,
    "int16": DataType.INT16,
    "int8": DataType.INT8,
    "float": DataType.FLOAT,
    "double": DataType.DOUBLE,
    "bool": DataType.BOOL,
    "varchar": DataType.VARCHAR,
    "json": DataType.JSON,
}


@dataclass(frozen=True)
class Hit:
    id: Any
    distance: float
    fields: dict[str, Any]


class VectorStore(MilvusConnection):
    def __init__(
        self,
        config: MilvusConfig | None = None,
        *,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
        consistency: Consistency = "Strong",
        tracker: Tracker | None = None,
    ) -> None:
        super().__init__(config, tracker=tracker)
        self.max_batch_bytes = max_batch_bytes
        self.consistency = consistency
        self._info: dict[str, CollectionInfo] = {}
        self._search_params: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> VectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- collections ------------------------------------------------------------------------------------
    def create_collection(
        self,
        name: str,
        schema: CollectionSchema,
        *,
        index: IndexSpec | None = None,
        consistency: Consistency | None = None,
        load: bool = True,
        exist_ok: bool = False,
    ) -> None:
        """Create from a declared schema, index the vector field (HNSW unless told) and load it."""
        check_name("collection", name)
        if self.has_collection(name):
            if exist_ok:
                return
            raise AlreadyExistsError(f"collection {name!r} exists already; drop it or pass exist_ok=True")
        client = self._client
        milvus_schema = client.create_schema(
            auto_id=schema.auto_id, enable_dynamic_field=schema.dynamic_fields, description=schema.description
        )
        if schema.id_type == "int64":
            milvus_schema.add_field(schema.primary_key, DataType.INT64, is_primary=True)
        else:
            milvus_schema.add_field(
                schema.primary_key, DataType.VARCHAR, is_primary=True, max_length=schema.id_max_length
            )
        milvus_schema.add_field(schema.vector_field, DataType.FLOAT_VECTOR, dim=schema.dimension)
        for spec in schema.fields:
            extra = {"max_length": spec.max_length} if spec.type == "varchar" else {}
            milvus_schema.add_field(spec.name, FIELD_TYPES[spec.type], description=spec.description, **extra)
        index = index or IndexSpec()
        params = client.prepare_index_params()
        params.add_index(
            schema.vector_field,
            index_type=index.type,
            metric_type=index.metric or schema.metric,
            params=index.build_params(),
        )
        self._call(
            "create_collection",
            lambda: client.create_collection(
                name, schema=milvus_schema, index_params=params, consistency_level=consistency or self.consistency
            ),
            collection=name,
        )
        if load:
            self.load(name)

    def drop_collection(self, name: str, *, missing_ok: bool = True) -> None:
        with self._lock:
            self._info.pop(name, None)
            self._search_params.pop(name, None)
        if not self.has_collection(name):
            # Milvus treats dropping a missing collection as success; say so when the caller cares.
            if missing_ok:
                return
            raise CollectionNotFoundError(name)
        self._call("drop_collection", lambda: self._client.drop_collection(name), collection=name)

    def has_collection(self, name: str) -> bool:
        return bool(self._call("has_collection", lambda: self._client.has_collection(name), collection=name))

    def list_collections(self) -> list[str]:
        return list(self._call("list_collections", self._client.list_collections))

    def describe_collection(self, name: str) -> dict[str, Any]:
        return dict(self._call("describe", lambda: self._client.describe_collection(name), collection=name))

    def info(self, name: str) -> CollectionInfo:
        """The schema facts used to check records, read once per collection and cached."""
        with self._lock:
            cached = self._info.get(name)
        if cached:
            return cached
        described = self.describe_collection(name)
        primary = vector = ""
        dimension = 0
        for field in described["fields"]:
            if field.get("is_primary"):
                primary = field["name"]
            if field["type"] == DataType.FLOAT_VECTOR:
                vector, dimension = field["name"], int(field["params"]["dim"])
        info = CollectionInfo(
            name=name,
            primary_key=primary,
            vector_field=vector,
            dimension=dimension,
            auto_id=bool(described.get("auto_id")),
            fields=tuple(f["name"] for f in described["fields"]),
        )
        with self._lock:
            self._info[name] = info
        return info

    def load(self, name: str, partitions: Sequence[str] | None = None) -> None:
        if partitions:
            self._call("load", lambda: self._client.load_partitions(name, list(partitions)), collection=name)
        else:
            self._call("load", lambda: self._client.load_collection(name), collection=name)

    def release(self, name: str) -> None:
        self._call("release", lambda: self._client.release_collection(name), collection=name)

    def is_loaded(self, name: str) -> bool:
        state = self._call("load_state", lambda: self._client.get_load_state(name), collection=name)
        return str(state.get("state")).endswith("Loaded")

    def wait_loaded(self, name: str, timeout: float = 60.0) -> float:
        """Wait until the collection is searchable; returns the seconds waited. A restarted Milvus reloads
        the collections that were loaded, but only after its old sessions expire (10-30 s after a crash),
        and answers `CollectionNotLoadedError` until then."""
        started = time.monotonic()
        waiting = Retrying(
            retry=retry_if_result(lambda loaded: loaded is False)
            | retry_if_exception(is_transient),  # still coming up: the library's one definition of it
            wait=wait_fixed(0.5),
            stop=stop_after_delay(timeout),
        )
        try:
            waiting(self.is_loaded, name)
        except RetryError as exc:
            raise CollectionNotLoadedError(name) from exc.last_attempt.exception()
        return time.monotonic() - started

    # -- writes -----------------------------------------------------------------------------------------
    def insert(
        self, collection: str, records: Sequence[Mapping[str, Any]], *, partition: str | None = None
    ) -> WriteResult:
        """Insert in batches sized by bytes. A primary key twice in one call is refused (use upsert)."""
        return self._write("insert", collection, records, partition, refuse_duplicates=True)

    def upsert(
        self, collection: str, records: Sequence[Mapping[str, Any]], *, partition: str | None = None
    ) -> WriteResult:
        """Insert or replace by primary key: writing the same records twice leaves one copy of each."""
        return self._write("upsert", collection, records, partition, refuse_duplicates=True)

    def _write(
        self,
        operation: str,
        collection: str,
        records: Sequence[Mapping[str, Any]],
        partition: str | None,
        *,
        refuse_duplicates: bool,
    ) -> WriteResult:
        info = self.info(collection)
        rows = prepare(info, records, refuse_duplicates=refuse_duplicates)
        result = WriteResult()
        failed: list[FailedBatch] = []
        causes: list[VectorStackError] = []
        method = self._client.insert if operation == "insert" else self._client.upsert
        # Cut every batch before writing any, so a record too large for a batch fails the call up front.
        planned = list(batches(rows, info.vector_field, self.max_batch_bytes))
        for first, last, batch, nbytes in planned:
            try:
                answer = self._call(
                    operation,
                    lambda batch=batch: method(collection, batch, partition_name=partition or ""),  # type: ignore[misc]
                    collection=collection,
                )
            except NotFoundError:
                raise  # a missing collection or partition fails every batch alike: say it once
            except VectorStackError as exc:
                # The server refused this batch (or went away): the others still go in, and the caller
                # learns exactly which records did not.
                failed.append(FailedBatch(first, last, str(exc)))
                causes.append(exc)
                continue
            count = int(answer.get("insert_count", answer.get("upsert_count", len(batch))))
            ids = answer.get("ids", answer.get("primary_keys", []))
            result.count += count
            result.ids.extend(list(ids))
            result.batches.append(BatchResult(first, last, count, nbytes))
        if failed:
            # Chained to the first batch's error, so callers can tell a refusal from an outage.
            raise BatchWriteError(f"{operation} into {collection!r}", result.count, failed) from causes[0]
        return result

    def delete(
        self,
        collection: str,
        *,
        ids: Sequence[Any] | None = None,
        filter: str | None = None,
        partition: str | None = None,
    ) -> int:
        """Delete by primary keys or by a filter expression (exactly one); returns how many were deleted."""
        if (ids is None) == (filter is None):
            raise InvalidInputError("delete needs either ids or a filter, not both and not neither")
        if ids is not None and len(ids) == 0:
            return 0
        answer = self._call(
            "delete",
            lambda: self._client.delete(
                collection,
                ids=list(ids) if ids is not None else None,
                filter=filter or "",
                partition_name=partition,
            ),
            collection=collection,
            filter_expr=filter,
        )
        return int(answer.get("delete_count", 0)) if isinstance(answer, Mapping) else len(answer)

    # -- reads ------------------------------------------------------------------------------------------
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

    def flush(self, collection: str) -> None:
        """Seal growing segments (an index then covers them); not needed for reads to see writes."""
        self._call("flush", lambda: self._client.flush(collection), collection=collection)

    # -- indexes ----------------------------------------------------------------------------------------
    def create_index(self, collection: str, index: IndexSpec, *, metric: str | None = None) -> None:
        """Index the vector field. The metric is required (the IndexSpec's, else `metric`): Milvus keeps it on
        the index alone, so a dropped index's metric is not remembered, and guessing one (COSINE, once)
        silently changed an L2 collection's ranking."""
        chosen = index.metric or metric
        if chosen not in METRICS:
            raise InvalidInputError(
                f"create_index on {collection!r} needs the metric, L2, IP or COSINE (upper case), got {chosen!r}: "
                "pass metric=... or IndexSpec(metric=...), the one the collection was created with"
            )
        info = self.info(collection)
        params = self._client.prepare_index_params()
        params.add_index(
            info.vector_field,
            index_type=index.type,
            metric_type=chosen,
            params=index.build_params(),
        )
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
        return list(self._call("list_indexes", lambda: self._client.list_indexes(collection), collection=collection))

    def drop_index(self, collection: str) -> None:
        """Drop the vector index; Milvus requires the collection released first, so this releases it."""
        info = self.info(collection)
        self.release(collection)
        with self._lock:
            self._search_params.pop(collection, None)
        self._call("drop_index", lambda: self._client.drop_index(collection, info.vector_field), collection=collection)

    # -- partitions -------------------------------------------------------------------------------------
    def create_partition(self, collection: str, partition: str) -> None:
        check_name("partition", partition)
        self._call(
            "create_partition", lambda: self._client.create_partition(collection, partition), collection=collection
        )

    def list_partitions(self, collection: str) -> list[str]:
        return list(
            self._call("list_partitions", lambda: self._client.list_partitions(collection), collection=collection)
        )

    def has_partition(self, collection: str, partition: str) -> bool:
        return bool(
            self._call(
                "has_partition", lambda: self._client.has_partition(collection, partition), collection=collection
            )
        )

    def drop_partition(self, collection: str, partition: str) -> None:
        """Release then drop (Milvus refuses to drop a loaded partition)."""
        try:
            self._call(
                "release_partition",
                lambda: self._client.release_partitions(collection, [partition]),
                collection=collection,
            )
        except UnsupportedOperationError:
            self.release(collection)  # servers without partition-level release (Milvus Lite)
        self._call("drop_partition", lambda: self._client.drop_partition(collection, partition), collection=collection)
