"""The pipeline: records/s from Kafka into Milvus end to end (with cache and events), and its lag under load.

The baseline is the same work written with the raw drivers: consume (confluent-kafka), decode, upsert
(pymilvus), write each record to the Redis cache and publish one event per batch (redis-py), commit. The
ratio is then what the worker's own machinery costs: its checks, retries, dead-letter routing, metrics.

The lag figure runs the worker while a producer sends at a steady rate, and reports the largest backlog
seen: a worker that keeps up shows a few batches, one that does not shows the backlog growing to the end.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
import uuid
from collections.abc import Mapping
from typing import cast

import numpy as np
from confluent_kafka import Consumer
from pymilvus import MilvusClient

from benchmarks.core import Bench, Figure, summary
from benchmarks.redis_bench import raw_client
from vectorstack.cache import RedisCache
from vectorstack.config import KafkaConfig, MilvusConfig, RedisConfig
from vectorstack.milvus import VectorStore
from vectorstack.pipeline import IngestWorker, PipelineSettings
from vectorstack.streaming import StreamProducer, TopicAdmin, VectorRecord
from vectorstack.streaming.codec import Headers, decode, encode

GROUP = "pipeline"
DIM = 128


def _records(start: int, stop: int, vectors: np.ndarray) -> list[VectorRecord]:
    return [VectorRecord(i, vectors[i % len(vectors)], {"seq": i}) for i in range(start, stop)]


def run(bench: Bench, env: Mapping[str, str]) -> None:
    kafka, milvus, redis_config = KafkaConfig.from_env(env), MilvusConfig.from_env(env), RedisConfig.from_env(env)
    n = bench.size(20_000, 5_000)
    name = f"benchpipe_{uuid.uuid4().hex[:6]}"
    topic = f"{name}_in"
    admin = TopicAdmin(kafka)
    admin.create_topic(topic, partitions=4)
    vectors = np.random.default_rng(3).random((n, DIM), dtype=np.float32)
    with StreamProducer(kafka) as producer:
        for start in range(0, n, 10_000):
            producer.send_records(topic, _records(start, min(n, start + 10_000), vectors))
    store = VectorStore(milvus)
    lib_runs: list[float] = []
    raw_runs: list[float] = []
    try:
        for attempt in range(bench.repeats):
            settings = PipelineSettings(
                topic=topic,
                collection=f"{name}_l{attempt}",
                dimension=DIM,
                group=f"{name}_l{attempt}",
                cache_namespace=f"{name}l",
            )
            with IngestWorker(settings, kafka=kafka, milvus=milvus, redis=redis_config) as worker:
                started = time.perf_counter()
                worker.run(max_records=n)
                lib_runs.append(n / (time.perf_counter() - started))
            store.drop_collection(settings.collection)
            raw_settings = PipelineSettings(
                topic=topic, collection=f"{name}_r{attempt}", dimension=DIM, cache_namespace=f"{name}r"
            )
            raw_runs.append(_raw(kafka, milvus, redis_config, raw_settings, n))
            store.drop_collection(raw_settings.collection)
        value, spread = summary(lib_runs)
        bench.add(
            Figure(
                "pipeline Kafka -> Milvus (+cache, events)",
                "records/s",
                value,
                spread,
                True,
                summary(raw_runs)[0],
                "confluent-kafka + pymilvus + redis-py, same work",
                statistics.median(a / b for a, b in zip(lib_runs, raw_runs, strict=True)),
                group=GROUP,
                samples=lib_runs,
                baseline_samples=raw_runs,
            )
        )
        _lag_under_load(bench, kafka, milvus, redis_config, admin, name, rate=value / 2, vectors=vectors)
    finally:
        admin.delete_topic(topic)
        admin.delete_topic(f"{topic}.dlq")
        for space in (f"{name}l", f"{name}r", f"{name}lag"):
            with RedisCache(redis_config, namespace=space) as cache:
                cache.clear()
        store.close()
        admin.close()


def _lag_under_load(
    bench: Bench,
    kafka: KafkaConfig,
    milvus: MilvusConfig,
    redis_config: RedisConfig,
    admin: TopicAdmin,
    name: str,
    *,
    rate: float,
    vectors: np.ndarray,
) -> None:
    """A producer sends `rate` records/s (half the measured throughput) for a while; the worker runs in
    its own thread; the group's lag is sampled every 0.25 s. Reported: its median (spread: half the
    interquartile range) and the largest seen."""
    seconds = bench.size(20, 6)
    total = int(rate * seconds)
    topic = f"{name}_load"
    admin.create_topic(topic, partitions=4)
    settings = PipelineSettings(
        topic=topic, collection=f"{name}_load", dimension=DIM, group=f"{name}_load", cache_namespace=f"{name}lag"
    )
    lags: list[int] = []
    try:
        with IngestWorker(settings, kafka=kafka, milvus=milvus, redis=redis_config) as worker:
            runner = threading.Thread(target=worker.run, kwargs={"max_records": total})
            runner.start()
            # Load starts once the worker holds its partitions: the group join (~0.5 s) is not lag.
            deadline = time.monotonic() + 60
            while not worker.consumer.assignment() and time.monotonic() < deadline:
                time.sleep(0.05)
            sampling = threading.Event()
            sampler = threading.Thread(target=_sample_lag, args=(admin, settings.group, topic, lags, sampling))
            sampler.start()
            with StreamProducer(kafka, linger_ms=1) as producer:
                batch = max(int(rate / 20), 1)  # 20 sends a second
                started = time.monotonic()
                for sent in range(0, total, batch):
                    producer.send_records(topic, _records(sent, min(total, sent + batch), vectors))
                    pause = started + (sent + batch) / rate - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
            runner.join(timeout=seconds * 5 + 60)
            if runner.is_alive():
                worker.stop()
                runner.join()
            sampling.set()
            sampler.join()
        label = f"pipeline lag at {rate:,.0f} records/s for {seconds} s"
        q25, median, q75 = np.percentile(lags, [25, 50, 75]) if lags else (0.0, 0.0, 0.0)
        bench.add(Figure(f"{label}, median", "records", float(median), float(q75 - q25) / 2, False, group=GROUP))
        bench.add(Figure(f"{label}, max", "records", float(max(lags, default=0)), 0.0, False, group=GROUP))
    finally:
        with VectorStore(milvus) as store:
            store.drop_collection(settings.collection)
        admin.delete_topic(topic)
        admin.delete_topic(f"{topic}.dlq")


def _sample_lag(admin: TopicAdmin, group: str, topic: str, out: list[int], done: threading.Event) -> None:
    while not done.wait(0.25):
        try:
            out.append(sum(admin.consumer_lag(group, topic).values()))
        except Exception:  # noqa: BLE001,S112 - a sample lost to a rebalance is only a missing point
            continue


def _raw(
    kafka: KafkaConfig, milvus: MilvusConfig, redis_config: RedisConfig, settings: PipelineSettings, n: int
) -> float:
    """The worker's loop with the raw drivers: decode, upsert, cache each record, publish, commit."""
    client = MilvusClient(uri=milvus.uri, token=milvus.token or "")
    cache = raw_client(redis_config)
    ttl_ms = int(settings.cache_ttl * 1000)
    with VectorStore(milvus) as store:  # same schema and index as the pipeline's collection
        store.create_collection(settings.collection, settings.schema(), index=settings.index)
    consumer = Consumer(
        {
            **kafka.client_settings(),
            "group.id": settings.collection,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,
        }
    )
    consumer.subscribe([settings.topic])
    started = time.perf_counter()
    done = 0
    while done < n:
        messages = [m for m in consumer.consume(settings.batch_size, timeout=settings.batch_wait) if not m.error()]
        if not messages:
            continue
        records = {}
        for m in messages:
            record = decode(m.key(), m.value(), cast(Headers, m.headers()))
            records[record.id] = record
        client.upsert(settings.collection, [{"id": r.id, "vector": r.vector, **r.metadata} for r in records.values()])
        pipe = cache.pipeline(transaction=False)
        for record in records.values():
            pipe.set(f"{settings.cache_namespace}:rec:{record.id}", encode(record)[1], px=ttl_ms)
        pipe.execute()
        event = {"worker": "raw", "count": len(records), "ids": list(records)}
        cache.publish(f"{settings.cache_namespace}:events:{settings.events_channel}", json.dumps(event))
        consumer.commit(asynchronous=False)
        done += len(records)
    rate = n / (time.perf_counter() - started)
    consumer.close()
    client.close()
    for key in cache.scan_iter(f"{settings.cache_namespace}:*", count=1000):
        cache.delete(key)
    cache.close()
    return rate
