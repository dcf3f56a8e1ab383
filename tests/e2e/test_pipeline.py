"""The pipeline as a whole: Kafka -> worker -> Milvus, Redis cache and events, Prometheus, S3."""

from __future__ import annotations

import dataclasses
import signal
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

from vectorstack.cache import RedisCache
from vectorstack.errors import CollectionNotFoundError, CollectionNotLoadedError
from vectorstack.milvus import VectorStore
from vectorstack.monitoring import Metrics
from vectorstack.pipeline import CachedReader, RecordCache
from vectorstack.storage import ObjectStore
from vectorstack.storage.backup import CollectionBackup
from vectorstack.streaming import StreamConsumer, StreamProducer, TopicAdmin, VectorRecord, encode
from vectorstack.streaming.codec import MAGIC
from vectorstack.streaming.consumer import HEADER_DLQ_REASON, HEADER_DLQ_SOURCE

from ..waiting import eventually
from .conftest import (
    DIM,
    Pipeline,
    assert_cache_not_stale,
    assert_exactly_once,
    prom_value,
    running,
    worker_command,
)


def test_records_flow_into_milvus_the_cache_prometheus_and_s3(
    pipeline: Pipeline, store: VectorStore, record_cache: RecordCache
) -> None:
    pipeline.settings = dataclasses.replace(pipeline.settings, backup_every=1.0)
    settings, stack = pipeline.settings, pipeline.stack
    records = pipeline.records(range(2000))
    with RedisCache(stack.redis, namespace=settings.cache_namespace) as events_cache:
        subscription = events_cache.events.subscribe(settings.events_channel)
        pipeline.produce(records)
        with running(pipeline.worker(pushgateway_url=stack.pushgateway_url)) as worker:
            eventually(
                lambda: worker.summary.ingested, "all 2000 records stored", timeout=90, until=lambda n: n >= 2000
            )
            eventually(
                lambda: any(b.rows == 2000 for b in worker.summary.backups), "a backup of all records", timeout=60
            )
        announced: set[Any] = set()
        while len(announced) < 2000:
            event = subscription.get(timeout=10)
            assert event is not None, f"events announced {len(announced)} of 2000 ids"
            assert event.data["worker"] == worker.name
            announced.update(event.data["ids"])
        subscription.close()
    assert announced == {r.id for r in records}

    # Milvus: every record once, searchable, with its metadata.
    assert_exactly_once(store, pipeline)
    probes = records[:5]
    hits = store.search(settings.collection, [r.vector for r in probes], limit=3, output_fields=["source", "seq"])
    for record, found in zip(probes, hits, strict=True):
        assert found[0].id == record.id
        assert found[0].fields["seq"] == record.id
        assert found[0].fields["source"] == "v0"

    # Redis: the worker cached what it stored, so reads hit Redis and match Milvus.
    reader = CachedReader(settings, store, record_cache)
    sample = [int(r.id) for r in records[::20]]
    got = reader.get_many(sample)
    assert reader.stats.hits == len(sample)
    assert reader.stats.misses == 0
    for record_id in sample:
        cached = got[record_id]
        assert cached is not None
        np.testing.assert_array_equal(cached.vector, pipeline.expected[record_id].vector)

    # Prometheus: the pushed counters, scraped from the Pushgateway.
    query = f'sum(vectorstack_pipeline_records_ingested_total{{job="{settings.metrics_job}"}})'
    eventually(
        lambda: prom_value(stack.prometheus_url, query),
        f"Prometheus to show 2000 for {query}",
        until=lambda v: v == 2000,
    )
    batches = prom_value(
        stack.prometheus_url, f'sum(vectorstack_pipeline_batches_total{{job="{settings.metrics_job}"}})'
    )
    assert batches is not None
    assert batches >= 2000 / settings.batch_size

    # S3: a complete backup (manifest written last) holding every record.
    backups = CollectionBackup(store, ObjectStore(stack.s3), settings.backup_bucket, prefix=settings.backup_prefix)
    manifest = backups.manifest(settings.collection)
    assert manifest["rows"] == 2000
    assert sum(chunk["count"] for chunk in manifest["chunks"]) == 2000


def test_milvus_cache_and_metrics_agree(pipeline: Pipeline, store: VectorStore, record_cache: RecordCache) -> None:
    metrics = Metrics(system=False)
    group = {"pipeline": pipeline.settings.group}
    pipeline.produce(pipeline.records(range(1500)))
    with running(pipeline.worker(metrics=metrics)) as worker:
        eventually(
            lambda: worker.summary.ingested, "the first 1500 records stored", timeout=90, until=lambda n: n >= 1500
        )
        # A second version of every third record: Milvus and the cache must both end with it.
        pipeline.produce(pipeline.records(range(0, 1500, 3), version=1))
        eventually(lambda: worker.summary.ingested, "the 500 updates stored", timeout=90, until=lambda n: n >= 2000)
    assert_exactly_once(store, pipeline)
    assert assert_cache_not_stale(record_cache, pipeline) == 1500, "every stored record is cached"
    registry = metrics.registry
    assert registry.get_sample_value("vectorstack_pipeline_records_ingested_total", group) == 2000
    assert registry.get_sample_value("vectorstack_pipeline_records_dead_lettered_total", group) == 0
    assert registry.get_sample_value("vectorstack_ingest_lag_records", group) == 0
    lag = TopicAdmin(pipeline.stack.kafka).consumer_lag(pipeline.settings.group, pipeline.settings.topic)
    assert sum(lag.values()) == 0, f"uncommitted after a clean stop: {lag}"


def _poison(pipeline: Pipeline) -> list[tuple[bytes, bytes, list[tuple[str, bytes]] | None, str]]:
    """(key, value, headers, expected reason) of records that must never reach Milvus."""
    vector = np.ones(DIM, dtype=np.float32)
    good_meta = {"source": "bad", "seq": 1}

    def encoded(record: VectorRecord) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        return encode(record)

    key, value, headers = encoded(VectorRecord(900_004, vector, good_meta))
    broken_json = value[: 6 + 4 * DIM] + b"{not json"
    return [
        (*encoded(VectorRecord(900_001, np.ones(DIM + 3, dtype=np.float32), good_meta)), f"dimension {DIM + 3}"),
        (b"900002", b"plain text", None, "no vs-schema header"),
        (key, broken_json, headers, "metadata is not JSON"),
        (*encoded(VectorRecord(900_005, vector, {"source": "x"})), "'seq' is missing"),
        (*encoded(VectorRecord(900_006, vector, {"source": 5, "seq": 1})), "'source' must be varchar"),
        (*encoded(VectorRecord(900_007, vector, {"source": "x" * 40, "seq": 1})), "longer than its max_length"),
        (*encoded(VectorRecord("abc", vector, good_meta)), "is not an integer"),
        (MAGIC, MAGIC + struct.pack("<I", 10_000), [("vs-schema", b"1")], "vector bytes"),
    ]


def test_poison_records_go_to_the_dead_letter_topic_and_the_pipeline_goes_on(
    pipeline: Pipeline, store: VectorStore
) -> None:
    poison = _poison(pipeline)
    with StreamProducer(pipeline.stack.kafka) as producer:
        pipeline.produce(pipeline.records(range(300)), producer)
        report = producer.send_messages(pipeline.settings.topic, [(k, v, h) for k, v, h, _ in poison])
        assert report.ok
        pipeline.produce(pipeline.records(range(300, 600)), producer)
    with running(pipeline.worker()) as worker:
        eventually(
            lambda: (worker.summary.ingested, worker.summary.dead_lettered),
            f"600 good records stored and {len(poison)} poison ones dead-lettered",
            timeout=90,
            until=lambda counts: counts[0] >= 600 and counts[1] >= len(poison),
        )
    assert worker.summary.dead_lettered == len(poison)
    assert_exactly_once(store, pipeline)  # only the good ones, each once

    reasons: dict[bytes | None, str] = {}
    with StreamConsumer([pipeline.settings.dlq_topic], f"{pipeline.settings.group}_dlq", pipeline.stack.kafka) as dlq:

        def read_more() -> int:
            for message in dlq.poll(100, timeout=0.5):
                headers = dict(message.headers)
                assert headers[HEADER_DLQ_SOURCE].decode().startswith(pipeline.settings.topic + "/")
                reasons[message.key] = headers[HEADER_DLQ_REASON].decode()
            return len(reasons)

        eventually(
            read_more, f"all {len(poison)} on the dead-letter topic", interval=0, until=lambda n: n >= len(poison)
        )
    assert len(reasons) == len(poison), f"dead-letter topic holds {len(reasons)} of {len(poison)}"
    for key, _value, _headers, why in poison:
        assert why in reasons[key], f"{key!r}: reason {reasons[key]!r} should mention {why!r}"


def test_worker_command_stops_cleanly_on_sigterm_with_offsets_committed(
    pipeline: Pipeline, store: VectorStore, spawn: Callable[..., Any]
) -> None:
    pipeline.produce(pipeline.records(range(1000)))
    proc = spawn(worker_command(pipeline, "--progress-every", "0.5"), pipeline.stack.env)
    eventually(
        lambda: store.count(pipeline.settings.collection),
        "the worker command to store 1000 records",
        timeout=90,
        until=lambda n: n == 1000,
        ignoring=(CollectionNotFoundError, CollectionNotLoadedError),  # the command has not created it yet
    )
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "SIGTERM: finishing the batch in hand" in output
    assert "done: ingested 1,000 records" in output
    lag = TopicAdmin(pipeline.stack.kafka).consumer_lag(pipeline.settings.group, pipeline.settings.topic)
    assert sum(lag.values()) == 0, f"offsets not committed on SIGTERM: {lag}"
    assert_exactly_once(store, pipeline)
