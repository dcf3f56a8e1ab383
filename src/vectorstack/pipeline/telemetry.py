"""The pipeline's own metrics, on top of the library's per-operation ones (`vectorstack.monitoring`).

Counters are cumulative for one worker process and labelled by pipeline (the consumer group), so several
workers' pushes (one grouping key each) sum up in Prometheus. A long-running worker can also be scraped
(`Metrics.serve`); a batch run pushes at the end.
"""

from __future__ import annotations

import time
from collections import deque

from vectorstack.monitoring import Metrics


class PipelineMetrics:
    def __init__(self, metrics: Metrics, pipeline: str) -> None:
        self.metrics = metrics
        self.pipeline = pipeline
        self.ingested = metrics.counter(
            "vectorstack_pipeline_records_ingested", "Records stored in Milvus by the pipeline", ("pipeline",)
        ).labels(pipeline)
        self.dead_lettered = metrics.counter(
            "vectorstack_pipeline_records_dead_lettered", "Poison records sent to the dead-letter topic", ("pipeline",)
        ).labels(pipeline)
        self.batches = metrics.counter(
            "vectorstack_pipeline_batches", "Batches stored and committed", ("pipeline",)
        ).labels(pipeline)
        self._errors = metrics.counter(
            "vectorstack_pipeline_errors", "Failures the worker recovered from, by stage", ("pipeline", "stage")
        )
        self.rate = metrics.gauge(
            "vectorstack_pipeline_ingest_rate", "Records stored per second over the last 10 s", ("pipeline",)
        ).labels(pipeline)
        self.last_backup = metrics.gauge(
            "vectorstack_pipeline_last_backup_timestamp", "Unix time of the last backup to S3", ("pipeline",)
        ).labels(pipeline)
        self.lag = metrics.ingest_lag.labels(pipeline)
        self._window: deque[tuple[float, int]] = deque()
        self.total = 0

    def error(self, stage: str) -> None:
        self._errors.labels(self.pipeline, stage).inc()

    def stored(self, count: int, now: float | None = None) -> None:
        """Count a stored batch and update the rate over a sliding 10 s window."""
        now = time.monotonic() if now is None else now
        self.total += count
        self.ingested.inc(count)
        self.batches.inc()
        self._window.append((now, self.total))
        while len(self._window) > 1 and now - self._window[0][0] > 10.0:
            self._window.popleft()
        self.rate.set(self.current_rate(now))

    def current_rate(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        if len(self._window) < 2:
            return 0.0
        (first_time, first_total), (_, last_total) = self._window[0], self._window[-1]
        return (last_total - first_total) / max(now - first_time, 1e-3)
