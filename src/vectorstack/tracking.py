"""The one interface the clients need from a metrics object, so they work without prometheus_client.

Pass `metrics=vectorstack.monitoring.Metrics()` to any client (VectorStore, RedisCache, ObjectStore,
StreamProducer, StreamConsumer) and every operation it performs is timed and counted by outcome.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol


class Tracker(Protocol):
    def track(self, service: str, operation: str, *, records: int = 0) -> contextlib.AbstractContextManager[None]: ...

    def count(self, service: str, operation: str, records: int) -> None: ...


@contextlib.contextmanager
def tracked(metrics: Tracker | None, service: str, operation: str, *, records: int = 0) -> Iterator[None]:
    if metrics is None:
        yield
        return
    with metrics.track(service, operation, records=records):
        yield
