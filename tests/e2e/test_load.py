"""Load: several producers and two workers in one consumer group, for a bounded time, rate and lag reported.

The figures are reported (in the JUnit properties and the output), never asserted: timings belong to the
benchmark suite. What is asserted is correctness under load: the group shares the partitions, every record
lands once, and the lag drains to zero.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from vectorstack.milvus import VectorStore
from vectorstack.streaming import StreamProducer, TopicAdmin

from ..waiting import eventually
from .conftest import Pipeline, assert_exactly_once, running

PRODUCERS = 3
SECONDS = 8.0
BATCH = 250
RATE_PER_PRODUCER = 1000  # records/s: sustained, not a burst the workers could absorb in one poll


@pytest.mark.slow
def test_sustained_load_with_two_workers_in_one_group(
    pipeline: Pipeline, store: VectorStore, record_property: Callable[[str, Any], None]
) -> None:
    admin = TopicAdmin(pipeline.stack.kafka)
    lags: list[int] = []
    errors: list[BaseException] = []
    started = time.monotonic()
    lock = threading.Lock()

    def produce(number: int) -> None:
        try:
            with StreamProducer(pipeline.stack.kafka) as producer:
                sent, next_id = 0, number * 1_000_000
                while time.monotonic() - started < SECONDS:
                    records = pipeline.records(range(next_id, next_id + BATCH), seed=next_id)
                    report = producer.send_records(pipeline.settings.topic, records)
                    assert report.ok, report.failed[:3]
                    with lock:
                        pipeline.note(records)
                    next_id += BATCH
                    sent += BATCH
                    pause = sent / RATE_PER_PRODUCER - (time.monotonic() - started)
                    if pause > 0:
                        time.sleep(pause)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    with running(pipeline.worker()) as first, running(pipeline.worker()) as second:
        producers = [threading.Thread(target=produce, args=(n,)) for n in range(PRODUCERS)]
        for thread in producers:
            thread.start()
        while any(t.is_alive() for t in producers):
            lags.append(sum(admin.consumer_lag(pipeline.settings.group, pipeline.settings.topic).values()))
            time.sleep(0.5)
        produced_seconds = time.monotonic() - started
        assert not errors, errors
        eventually(
            lambda: first.summary.ingested + second.summary.ingested,
            f"both workers to store all {pipeline.produced} records",
            timeout=180,
            until=lambda n: n >= pipeline.produced,
        )
        drained_seconds = time.monotonic() - started
        eventually(lambda: first.update_lag() == 0 and second.update_lag() == 0, "the lag drained", timeout=60)
        assert first.consumer.assignment(), "the group shares the partitions"
        assert second.consumer.assignment(), "the group shares the partitions"
        assert first.summary.ingested > 0
        assert second.summary.ingested > 0
        shares = (first.summary.ingested, second.summary.ingested)

    figures = {
        "records": pipeline.produced,
        "produce_rate_per_s": round(pipeline.produced / produced_seconds),
        "ingest_rate_per_s": round(pipeline.produced / drained_seconds),
        "max_lag_records": max(lags, default=0),
        "worker_shares": shares,
    }
    for name, value in figures.items():
        record_property(name, value)
    print(f"\nload: {figures}")
    assert_exactly_once(store, pipeline)
