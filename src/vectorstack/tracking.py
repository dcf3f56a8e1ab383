"""The one interface the clients need from a metrics object, so they work without prometheus_client.

Pass a `vectorstack.monitoring.Metrics()` to any client and every operation it performs is timed and counted
by outcome: `tracker=...` on RedisCache, VectorStore, ObjectStore, StreamProducer and StreamConsumer alike
(RedisCache's `metrics` attribute is something else: its MetricsStore, application metrics kept in Redis).
"""

from __future__ import annotations

import contextlib
from typing import Protocol


class Tracker(Protocol):
    def track(self, service: str, operation: str, *, records: int = 0) -> contextlib.AbstractContextManager[None]: ...

    def count(self, service: str, operation: str, records: int) -> None: ...


_UNTRACKED = contextlib.nullcontext()


def tracked(
    tracker: Tracker | None, service: str, operation: str, *, records: int = 0
) -> contextlib.AbstractContextManager[None]:
    """Without a tracker, a shared no-op: this wraps every Redis command, where a generator-based context
    manager alone cost a tenth of a GET's round trip."""
    if tracker is None:
        return _UNTRACKED
    return tracker.track(service, operation, records=records)
