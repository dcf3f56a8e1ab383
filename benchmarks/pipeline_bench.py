"""The pipeline: records/s from Kafka into Milvus end to end (with cache, events, metrics), and the lag.

The baseline is the same loop written with the raw drivers (consume, pymilvus upsert, commit) and none of
the pipeline's extra duties, so the ratio is what the cache refresh, events, metrics and checks cost.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from typing import cast

import numpy as np
from confluent_kafka import Consumer
from pymilvus import MilvusClient

from benchmarks.core import Bench, Figure
from vectorstack.cache import RedisCache
from vectorstack.config import KafkaConfig, MilvusConfig, RedisConfig
from vectorstack.milvus import VectorStore
from vectorstack.pipeline import IngestWorker, PipelineSettings
from vectorstack.streaming import StreamProducer, TopicAdmin, VectorRecord
from vectorstack.streaming.codec import Headers, decode

GROUP = "pipeline"
DIM = 128


def run(bench: Bench, env: Mapping[str, str]) -> None:
    kafka, milvus, redis = KafkaConfig.from_env(env), MilvusConfig.from_env(env), RedisConfig.from_env(env)
    n = bench.size(20_000, 5_000)
    name = f"benchpipe_{uuid.uuid4().hex[:6]}"
    topic = f"{name}_in"
    admin = TopicAdmin(kafka)
    admin.create_topic(topic, partitions=4)
    vectors = np.random.default_rng(3).random((n, DIM), dtype=np.float32)
    with StreamProducer(kafka) as producer:
        for start in range(0, n, 10_000):
            producer.send_records(
                topic, [VectorRecord(i, vectors[i], {"seq": i}) for i in range(start, min(n, start + 10_000))]
            )
    store = VectorStore(milvus)
    lib_runs: list[float] = []
    raw_runs: list[float] = []
    lags: list[int] = []
    try:
        for attempt in range(bench.repeats):
            settings = PipelineSettings(
                topic=topic,
                collection=f"{name}_l{attempt}",
                dimension=DIM,
                group=f"{name}_l{attempt}",
                cache_namespace=name,
            )
            with IngestWorker(settings, kafka=kafka, milvus=milvus, redis=redis) as worker:
                peak = _sample_lag(admin, settings.group, topic, lags)
                started = time.perf_counter()
                worker.run(max_records=n)
                lib_runs.append(n / (time.perf_counter() - started))
                peak.set()
            store.drop_collection(settings.collection)
            raw_runs.append(_raw(kafka, milvus, topic, f"{name}_r{attempt}", n))
            store.drop_collection(f"{name}_r{attempt}")
        value = sorted(lib_runs)[len(lib_runs) // 2]
        bench.add(
            Figure(
                "pipeline Kafka -> Milvus (+cache, events, metrics)",
                "records/s",
                value,
                (max(lib_runs) - min(lib_runs)) / 2,
                True,
                sorted(raw_runs)[len(raw_runs) // 2],
                "confluent-kafka + pymilvus upsert loop",
                group=GROUP,
                samples=lib_runs,
                baseline_samples=raw_runs,
            )
        )
        bench.add(
            Figure(
                "pipeline consumer lag under load (max)",
                "records",
                float(max(lags, default=0)),
                0.0,
                False,
                group=GROUP,
            )
        )
    finally:
        admin.delete_topic(topic)
        admin.delete_topic(f"{topic}.dlq")
        with RedisCache(redis, namespace=name) as cache:
            cache.clear()
        store.close()


def _sample_lag(admin: TopicAdmin, group: str, topic: str, out: list[int]) -> threading.Event:
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            try:
                out.append(sum(admin.consumer_lag(group, topic).values()))
            except Exception:  # noqa: BLE001,S112 - a sample lost to a rebalance is only a missing point
                continue

    threading.Thread(target=sample, daemon=True).start()
    return done


def _raw(kafka: KafkaConfig, milvus: MilvusConfig, topic: str, collection: str, n: int) -> float:
    client = MilvusClient(uri=milvus.uri, token=milvus.token or "")
    with VectorStore(milvus) as store:  # same schema and index as the pipeline's collection
        settings = PipelineSettings(topic=topic, collection=collection, dimension=DIM)
        store.create_collection(collection, settings.schema(), index=settings.index)
    consumer = Consumer(
        {
            **kafka.client_settings(),
            "group.id": collection,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,
        }
    )
    consumer.subscribe([topic])
    started = time.perf_counter()
    done = 0
    while done < n:
        messages = [m for m in consumer.consume(500, timeout=0.2) if not m.error()]
        if not messages:
            continue
        rows = []
        for m in messages:
            record = decode(m.key(), m.value(), cast(Headers, m.headers()))
            rows.append({"id": record.id, "vector": record.vector, **record.metadata})
        client.upsert(collection, rows)
        consumer.commit(asynchronous=False)
        done += len(rows)
    rate = n / (time.perf_counter() - started)
    consumer.close()
    client.close()
    return rate
