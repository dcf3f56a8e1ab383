"""`VectorStore`: collections, writes, searches, indexes and partitions on Milvus, through pymilvus.

The class is built in layers, one module each: catalog.py (descriptions, cached schema facts, load
state), indexes.py, collections.py (collections and partitions), reads.py (search, query, get, iterate,
count), and here the writes. One store holds one gRPC connection and is safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vectorstack.errors import (
    AlreadyExistsError,
    BatchWriteError,
    CollectionNotLoadedError,
    FailedBatch,
    InvalidFilterError,
    InvalidInputError,
    NotFoundError,
    VectorStackError,
)
from vectorstack.milvus.catalog import FIELD_TYPES
from vectorstack.milvus.reads import Hit, ReadStore
from vectorstack.milvus.records import BatchResult, CollectionInfo, WriteResult, batches, prepare
from vectorstack.milvus.schema import check_name
from vectorstack.milvus.validation import check_filter, check_ids, ids_filter

__all__ = ["FIELD_TYPES", "Hit", "VectorStore"]

# Keys per stored-key query: an `in` list of 5,000 int64 keys is about 100 KB of expression.
_KEYS_PER_CHECK = 5000


class VectorStore(ReadStore):
    def __enter__(self) -> VectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def insert(
        self, collection: str, records: Sequence[Mapping[str, Any]], *, partition: str | None = None
    ) -> WriteResult:
        """Insert new records in batches sized by bytes. A primary key already stored, or twice in one call,
        is refused before anything is written (AlreadyExistsError / InvalidInputError): Milvus itself would
        keep both rows. Use upsert to replace records.

        The stored keys are read with one query per 5,000 keys, so the check needs the collection loaded;
        on one that is not (created with load=False, or released), only the keys within the call can be
        checked, and insert does not load it behind the caller's back. Two inserts of the same new key at
        the same moment can both pass the check: Milvus has no unique constraint to hold it."""
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
        if partition is not None:
            check_name("partition", partition)
        rows = prepare(info, records, refuse_duplicates=refuse_duplicates)
        # Cut every batch before writing any, so a record too large for a batch fails the call up front;
        # then the one check that needs the server.
        planned = list(batches(rows, info.vector_field, self.max_batch_bytes))
        if operation == "insert" and not info.auto_id and rows:
            self._refuse_stored(info, [row[info.primary_key] for row in rows])
        result = WriteResult()
        failed: list[FailedBatch] = []
        causes: list[VectorStackError] = []
        method = self._client.insert if operation == "insert" else self._client.upsert
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

    def _refuse_stored(self, info: CollectionInfo, keys: list[Any]) -> None:
        """AlreadyExistsError naming (up to five of) the keys already stored; nothing when none is."""
        for start in range(0, len(keys), _KEYS_PER_CHECK):
            expression = ids_filter(info, keys[start : start + _KEYS_PER_CHECK])
            try:
                found = self._call(
                    "stored_ids",
                    lambda expression=expression: self._client.query(  # type: ignore[misc]
                        info.name,
                        filter=expression,
                        output_fields=[info.primary_key],
                        limit=5,
                        consistency_level="Strong",  # a key written a moment ago counts
                    ),
                    collection=info.name,
                    filter_expr=expression,
                )
            except CollectionNotLoadedError:
                return  # nothing can be read from it: see insert's docstring
            if found:
                named = ", ".join(repr(row[info.primary_key]) for row in found)
                raise AlreadyExistsError(
                    f"insert into {info.name!r}: primary key(s) {named} are stored already, and Milvus would keep "
                    "a second row for each; nothing was written. Use upsert to replace records, or new keys"
                )

    def delete(
        self,
        collection: str,
        *,
        ids: Sequence[Any] | None = None,
        filter: str | None = None,
        partition: str | None = None,
    ) -> int:
        """Delete by primary keys or by a filter expression (exactly one); returns how many were deleted.
        An empty filter is refused: deleting everything is drop_collection's job."""
        if (ids is None) == (filter is None):
            raise InvalidInputError("delete needs either ids or a filter, not both and not neither")
        if partition is not None:
            check_name("partition", partition)
        info = self.info(collection)
        if ids is not None:
            keys = check_ids(info, ids)
            if not keys:
                return 0
            expression = ids_filter(info, keys)
        else:
            expression = check_filter(filter)
            if not expression.strip():
                raise InvalidFilterError(
                    f"delete on {collection!r} with an empty filter would match every record: pass ids, a filter "
                    "such as 'price < 3', or drop the collection"
                )
        answer = self._call(
            "delete",
            lambda: self._client.delete(collection, filter=expression, partition_name=partition),
            collection=collection,
            filter_expr=expression,
        )
        return int(answer.get("delete_count", 0)) if isinstance(answer, Mapping) else len(answer)

    def flush(self, collection: str) -> None:
        """Seal growing segments (an index then covers them); not needed for reads to see writes."""
        check_name("collection", collection)
        self._call("flush", lambda: self._client.flush(collection), collection=collection)
