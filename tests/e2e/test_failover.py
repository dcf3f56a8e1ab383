"""Faults: the worker, Redis, the Kafka broker and Milvus are killed (SIGKILL) mid-stream and restarted.

After each, every produced record is in Milvus exactly once with its last content. Services are the
test's own instances (`private_service`), so the restarts never reach other workers' tests.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from testservices.control import ServiceControl
from vectorstack.cache import RedisCache
from vectorstack.config import KafkaConfig, MilvusConfig, RedisConfig
from vectorstack.milvus import VectorStore
from vectorstack.pipeline import RecordCache
from vectorstack.streaming import StreamProducer, TopicAdmin

from ..waiting import eventually
from .conftest import Pipeline, assert_cache_not_stale, assert_exactly_once, running, worker_command

PROGRESS = re.compile(r"ingested ([\d,]+) records")


@pytest.mark.slow
def test_worker_killed_mid_batch_is_restarted_without_loss_or_duplicates(
    pipeline: Pipeline, store: VectorStore, spawn: Callable[..., Any], record_property: Callable[[str, Any], None]
) -> None:
    total = 10_000
    with StreamProducer(pipeline.stack.kafka) as producer:
        for start in range(0, total, 2500):
            pipeline.produce(pipeline.records(range(start, start + 2500), seed=start), producer)
    # A static member (like a restarted pod): the new process takes the dead one's partitions at once. Without
    # it, real Kafka hands them over after session.timeout.ms, and noida never does.
    command = worker_command(pipeline, "--batch-size", "100", "--progress-every", "0.2", "--instance-id", "worker-1")
    first = spawn(command, pipeline.stack.env)
    assert first.stdout is not None
    seen = 0
    for line in first.stdout:
        match = PROGRESS.search(line)
        if match and (seen := int(match.group(1).replace(",", ""))) >= 1000:
            break
    assert 1000 <= seen < total, f"the worker should be mid-stream when killed (it had stored {seen})"
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    stored_at_kill = store.count(pipeline.settings.collection)
    lag_at_kill = sum(
        TopicAdmin(pipeline.stack.kafka).consumer_lag(pipeline.settings.group, pipeline.settings.topic).values()
    )
    assert stored_at_kill < total
    assert lag_at_kill > 0

    second = spawn([*command, "--idle-exit", "3"], pipeline.stack.env)
    try:
        output, _ = second.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        second.kill()
        output, _ = second.communicate()
        pytest.fail(f"the restarted worker did not drain the topic in 240 s:\n{output[-3000:]}")
    assert second.returncode == 0, output
    redone = int(PROGRESS.findall(output)[-1].replace(",", ""))
    record_property("stored_before_kill", stored_at_kill)
    record_property("stored_by_restarted_worker", redone)
    # Uncommitted records come again (at-least-once) and replace themselves (upsert): never fewer, never twice.
    assert redone >= total - stored_at_kill
    assert_exactly_once(store, pipeline)


def test_redis_crash_neither_stops_ingest_nor_leaves_stale_cache_entries(
    pipeline: Pipeline, store: VectorStore, private_service: Callable[[str], ServiceControl]
) -> None:
    redis = private_service("redis")
    pipeline.stack = pipeline.stack.but(redis=RedisConfig.from_env(redis.env))
    with RedisCache(pipeline.stack.redis, namespace=pipeline.settings.cache_namespace) as connection:
        cache = RecordCache(connection, pipeline.settings.cache_ttl)
        with running(pipeline.worker()) as worker:
            pipeline.produce(pipeline.records(range(1000)))
            eventually(
                lambda: worker.summary.ingested, "1000 records stored and cached", timeout=90, until=lambda n: n >= 1000
            )
            redis.wrote()
            redis.settle()  # the cached v0 entries are in Redis' append-only file
            redis.kill()
            # While Redis is down: new records and a new version of every even record.
            pipeline.produce(pipeline.records(range(0, 1000, 2), version=1) + pipeline.records(range(1000, 1500)))
            eventually(
                lambda: worker.summary.ingested, "ingest goes on without Redis", timeout=90, until=lambda n: n >= 2000
            )
            assert worker.summary.errors.get("cache errors", 0) > 0
            redis.start()
            pipeline.produce(pipeline.records(range(1500, 1600)))
            eventually(
                lambda: worker.summary.ingested,
                "records after the restart stored",
                timeout=90,
                until=lambda n: n >= 2100,
            )
        assert_exactly_once(store, pipeline)
        # Redis came back with the v0 entries it had on disk; those whose record changed during the outage
        # were removed by the worker, the others are still there and still right.
        assert_cache_not_stale(cache, pipeline)
        cached = cache.get_many(list(range(1000)))
        assert sorted(i for i, record in cached.items() if record is not None) == list(range(1, 1000, 2)), (
            "Redis kept every persisted odd record, and the worker removed every even one it changed"
        )


@pytest.mark.broker_feature("persistence")
def test_kafka_broker_crash_loses_and_duplicates_nothing(
    pipeline: Pipeline, store: VectorStore, private_service: Callable[[str], ServiceControl]
) -> None:
    kafka = private_service("kafka")
    pipeline.stack = pipeline.stack.but(kafka=KafkaConfig.from_env(kafka.env))
    TopicAdmin(pipeline.stack.kafka).create_topic(pipeline.settings.topic, partitions=4)
    producer = StreamProducer(pipeline.stack.kafka)
    with running(pipeline.worker()) as worker:
        pipeline.produce(pipeline.records(range(2000)), producer)
        eventually(lambda: worker.summary.ingested, "2000 records stored", timeout=90, until=lambda n: n >= 2000)
        kafka.wrote()
        kafka.settle()  # see ServiceControl.settle: real Kafka keeps acknowledged writes through SIGKILL
        kafka.kill()
        # Produced while the broker is down: the producer holds them and delivers after the restart.
        failures: list[BaseException] = []
        late = pipeline.records(range(2000, 3000)) + pipeline.records(range(0, 2000, 4), version=1)

        def send_late() -> None:
            try:
                pipeline.produce(late, producer)
            except BaseException as exc:  # noqa: BLE001 - reported by the test thread
                failures.append(exc)

        sender = threading.Thread(target=send_late)
        sender.start()
        time.sleep(2)  # down long enough for every client to notice (reconnect attempts, failed commits)
        kafka.start()
        sender.join(timeout=90)
        assert not sender.is_alive(), "the late records were not delivered after the broker came back"
        assert not failures, failures
        eventually(
            lambda: worker.summary.ingested,
            "records produced during the outage stored",
            timeout=120,
            until=lambda n: n >= 3500,
        )
    producer.close()
    assert_exactly_once(store, pipeline)


@pytest.mark.slow
def test_milvus_crash_is_retried_until_every_record_is_stored_once(
    pipeline: Pipeline, private_service: Callable[[str], ServiceControl], record_property: Callable[[str, Any], None]
) -> None:
    milvus = private_service("milvus")
    pipeline.stack = pipeline.stack.but(milvus=MilvusConfig.from_env(milvus.env))
    with VectorStore(pipeline.stack.milvus) as store, running(pipeline.worker()) as worker:
        pipeline.produce(pipeline.records(range(3000)))
        eventually(lambda: worker.summary.ingested, "3000 records stored", timeout=90, until=lambda n: n >= 3000)
        milvus.kill()
        pipeline.produce(pipeline.records(range(3000, 4000)) + pipeline.records(range(0, 3000, 3), version=1))
        eventually(lambda: worker.summary.errors.get("milvus errors", 0), "the worker to notice the outage", timeout=60)
        restart_seconds = milvus.start()
        eventually(
            lambda: worker.summary.ingested,
            "records produced during the outage stored",
            timeout=240,
            until=lambda n: n >= 5000,
        )
        record_property("milvus_restart_seconds", round(restart_seconds, 1))
        record_property("milvus_reload_seconds", round(store.wait_loaded(pipeline.settings.collection, 180), 1))
        assert_exactly_once(store, pipeline)
