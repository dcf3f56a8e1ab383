"""The one interface the clients need from a metrics object, so they work without prometheus_client.

Pass `metrics=vectorstack.monitoring.Metrics()` to any client (VectorStore, RedisCache, ObjectStore,
StreamProducer, StreamConsumer) and every operation it performs is timed and counted by outcome.
"""

from __future__ import annotations

import contextlib
from typing import Protocol


class Tracker(Protocol):
    def track(self, service: str, operation: str, *, records: int = 0) -> contextlib.AbstractContextManager[None]: ...

    def count(self, service: str, operation: str, records: int) -> None: ...


_UNTRACKED = contextlib.nullcontext()


def tracked(
    metrics: Tracker | None, service: str, operation: str, *, records: int = 0
) -> contextlib.AbstractContextManager[None]:
    """Without metrics, a shared no-op: this wraps every Redis command, where a generator-based context
    manager alone cost a tenth of a GET's round trip."""
    if metrics is None:
        return _UNTRACKED
    return metrics.track(service, operation, records=records)
