"""Ingested records in Redis: refreshed by the worker after each stored batch, read through by readers.

A record is cached as one value in the stream's own wire format (vector bytes plus metadata JSON), under
`<namespace>:rec:<id>`, with a TTL. Milvus stays the source of truth: a reader that misses (or cannot reach
Redis) reads Milvus and fills the cache.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from vectorstack.cache import RedisCache
from vectorstack.cache.connection import queue_set, translated
from vectorstack.cache.values import raw
from vectorstack.errors import VectorStackError
from vectorstack.milvus import VectorStore
from vectorstack.pipeline.settings import PipelineSettings
from vectorstack.streaming.codec import HEADER_ID_TYPE, HEADER_SCHEMA, SCHEMA_VERSION, VectorRecord, decode, encode


class RecordCache:
    def __init__(self, cache: RedisCache, ttl: float) -> None:
        self.cache = cache
        self.ttl_ms = max(int(ttl * 1000), 1)

    def key(self, record_id: Any) -> str:
        return self.cache.space.key("rec", str(record_id))

    def put_many(self, records: Sequence[VectorRecord]) -> None:
        """One round trip for the batch; raises the library's error if Redis cannot take it."""
        if not records:
            return
        with translated(self.cache.config):
            pipe = self.cache.client.pipeline(transaction=False)
            queue_set(pipe, ((self.key(record.id), encode(record)[1]) for record in records), self.ttl_ms)
            pipe.execute()

    def delete_many(self, ids: Iterable[Any]) -> int:
        keys = [self.key(i) for i in ids]
        if not keys:
            return 0
        with translated(self.cache.config):
            return int(self.cache.client.delete(*keys))

    def get_many(self, ids: Sequence[Any]) -> dict[Any, VectorRecord | None]:
        if not ids:
            return {}
        with translated(self.cache.config):
            values = self.cache.client.mget([self.key(i) for i in ids])
        found: dict[Any, VectorRecord | None] = {}
        for record_id, value in zip(ids, values, strict=True):
            if value is None:
                found[record_id] = None
                continue
            headers = [
                (HEADER_SCHEMA, str(SCHEMA_VERSION).encode()),
                (HEADER_ID_TYPE, b"int" if isinstance(record_id, int) else b"str"),
            ]
            found[record_id] = decode(str(record_id).encode(), raw(value), headers)
        return found


@dataclass
class ReadStats:
    hits: int = 0
    misses: int = 0
    cache_errors: int = 0


class CachedReader:
    """Records by id: Redis first, Milvus for what Redis lacks (then cached). `stats` says which served."""

    def __init__(self, settings: PipelineSettings, store: VectorStore, cache: RecordCache) -> None:
        self.settings = settings
        self.store = store
        self.cache = cache
        self.stats = ReadStats()

    def get_many(self, ids: Sequence[Any]) -> dict[Any, VectorRecord | None]:
        try:
            found = self.cache.get_many(ids)
        except VectorStackError:
            self.stats.cache_errors += 1
            found = dict.fromkeys(ids)
        missing = [i for i, record in found.items() if record is None]
        self.stats.hits += len(ids) - len(missing)
        self.stats.misses += len(missing)
        if missing:
            rows = self.store.get(self.settings.collection, missing)
            loaded = [self.settings.from_row(row) for row in rows]
            for record in loaded:
                found[record.id] = record
            try:
                self.cache.put_many(loaded)
            except VectorStackError:
                self.stats.cache_errors += 1
        return found

    def get(self, record_id: Any) -> VectorRecord | None:
        return self.get_many([record_id])[record_id]
