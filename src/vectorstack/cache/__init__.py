"""Redis for the stack: vector cache, key/value, events, streams, sessions, rate limits, locks, metrics.

`RedisCache` ties them to one connection pool and one key namespace:

    cache = RedisCache(RedisConfig.from_env(), namespace="myapp")
    cache.vectors.set("doc:1", embedding, ttl=300)
    with cache.lock("reindex"):
        ...
"""

from __future__ import annotations

import numpy.typing as npt

from vectorstack.arrays import decode_array, encode_array
from vectorstack.cache.connection import connect, translated
from vectorstack.cache.coordination import DistributedLock, RateDecision, RateLimiter
from vectorstack.cache.messaging import Event, EventBus, StreamEntry, StreamQueue, Subscription
from vectorstack.cache.records import MetricsStore, SessionStore
from vectorstack.cache.values import DEFAULT_MAX_VALUE_BYTES, KeyValueStore, Namespace, VectorCache
from vectorstack.config import RedisConfig
from vectorstack.tracking import Tracker


class RedisCache:
    """One pool, one namespace, every component. Connecting checks the server at once (PING), so a wrong
    address or password fails here, with the library's error, rather than at the first real call.

    `tracker` (e.g. a vectorstack.monitoring.Metrics) times and counts every Redis command the cache sends;
    `metrics` is a different thing: the MetricsStore that keeps the application's own metrics in Redis.
    """

    def __init__(
        self,
        config: RedisConfig | None = None,
        *,
        namespace: str = "vectorstack",
        tracker: Tracker | None = None,
        dimension: int | None = None,
        dtype: npt.DTypeLike | None = None,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        default_ttl: float | None = None,
        session_ttl: float = 1800.0,
        metrics_retention: float = 3600.0,
    ) -> None:
        self.config = config or RedisConfig.from_env()
        self.client = connect(self.config, tracker)
        try:
            # Every argument is checked (by the components' constructors, which send nothing) before the
            # PING, so a bad namespace or dimension is refused before anything goes to the server.
            self.space = Namespace(self.client, self.config, namespace)
            self.vectors = VectorCache(
                self.space, dimension=dimension, dtype=dtype, max_value_bytes=max_value_bytes, default_ttl=default_ttl
            )
            self.kv = KeyValueStore(self.space, max_value_bytes=max_value_bytes)
            self.events = EventBus(self.space)
            self.sessions = SessionStore(self.space, ttl=session_ttl)
            self.metrics = MetricsStore(self.space, retention=metrics_retention)
            with translated(self.config):
                self.client.ping()
        except BaseException:
            self.client.close()  # a half-built cache must not leave its pool's sockets open
            raise

    def stream(self, name: str, *, maxlen: int | None = None) -> StreamQueue:
        return StreamQueue(self.space, name, maxlen=maxlen)

    def rate_limiter(self, name: str, *, limit: int, window: float) -> RateLimiter:
        return RateLimiter(self.space, name, limit=limit, window=window)

    def lock(self, name: str, *, ttl: float = 10.0, blocking_timeout: float = 10.0) -> DistributedLock:
        """redis-py's Lock on `<namespace>:lock:<name>`: held for `ttl` s, waited for up to `blocking_timeout` s."""
        return DistributedLock(self.space, name, ttl=ttl, blocking_timeout=blocking_timeout)

    def clear(self) -> int:
        """Delete every key of this namespace (and only those); returns how many. Never FLUSHDB."""
        return self.space.clear()

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> RedisCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "DEFAULT_MAX_VALUE_BYTES",
    "DistributedLock",
    "Event",
    "EventBus",
    "KeyValueStore",
    "MetricsStore",
    "Namespace",
    "RateDecision",
    "RateLimiter",
    "RedisCache",
    "SessionStore",
    "StreamEntry",
    "StreamQueue",
    "Subscription",
    "VectorCache",
    "decode_array",
    "encode_array",
]
