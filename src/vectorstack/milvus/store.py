"""`VectorStore`: collections, writes, searches, indexes and partitions on Milvus, through pymilvus.

The class is built in layers, one module each: catalog.py (descriptions, cached schema facts, load
state), indexes.py, collections.py (collections and partitions), reads.py (search, query, get, iterate,
count), and here the writes. One store holds one gRPC connection and is safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vectorstack.errors import BatchWriteError, FailedBatch, InvalidInputError, NotFoundError, VectorStackError
from vectorstack.milvus.catalog import FIELD_TYPES
from vectorstack.milvus.reads import Hit, ReadStore
from vectorstack.milvus.records import BatchResult, WriteResult, batches, prepare

__all__ = ["FIELD_TYPES", "Hit", "VectorStore"]


class VectorStore(ReadStore):
    def __enter__(self) -> VectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    def flush(self, collection: str) -> None:
        """Seal growing segments (an index then covers them); not needed for reads to see writes."""
        self._call("flush", lambda: self._client.flush(collection), collection=collection)
