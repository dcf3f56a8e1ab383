"""The whole stack for the end-to-end suite: shared services, one pipeline (topic, collection, cache
namespace, metrics job) per test, and the checks every scenario ends with.

Fault tests kill a service: they get a private instance of it (`private_service`) and the shared ones for
the rest, so restarting it never disturbs the tests other xdist workers run.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pytest

from testservices.state import Endpoint
from vectorstack.cache import RedisCache
from vectorstack.config import KafkaConfig, MilvusConfig, RedisConfig, S3Config
from vectorstack.milvus import FieldSpec, VectorStore
from vectorstack.monitoring import Metrics
from vectorstack.pipeline import IngestWorker, PipelineSettings, RecordCache
from vectorstack.storage import ObjectStore
from vectorstack.streaming import StreamProducer, TopicAdmin, VectorRecord

from ..prometheus_api import promql

DIM = 32
PARTITIONS = 4


@dataclass
class Stack:
    """Connection settings of one stack; fault tests replace one service's with their private instance."""

    kafka: KafkaConfig
    milvus: MilvusConfig
    redis: RedisConfig
    s3: S3Config
    pushgateway_url: str
    prometheus_url: str
    env: dict[str, str] = field(repr=False, default_factory=dict)  # for the worker command's environment

    def but(self, **changes: Any) -> Stack:
        return replace(self, **changes)


@dataclass
class Pipeline:
    """One test's pipeline: its settings, the stack it runs on, and what it produced (the expected state)."""

    settings: PipelineSettings
    stack: Stack
    bucket: str
    expected: dict[int, VectorRecord] = field(default_factory=dict)
    produced: int = 0
    worker_names: list[str] = field(default_factory=list)

    def records(self, ids: Sequence[int], *, version: int = 0, seed: int = 0) -> list[VectorRecord]:
        rng = np.random.default_rng(seed + 7919 * version)
        vectors = rng.random((len(ids), self.settings.dimension), dtype=np.float32)
        return [
            VectorRecord(i, vectors[n], {"source": f"v{version}", "seq": int(i), "note": f"record {i} v{version}"})
            for n, i in enumerate(ids)
        ]

    def produce(self, records: Sequence[VectorRecord], producer: StreamProducer | None = None) -> None:
        """Send and remember: the last version of each id is what Milvus and the cache must end up with."""
        own = producer is None
        sender = producer or StreamProducer(self.stack.kafka)
        try:
            report = sender.send_records(self.settings.topic, records)
        finally:
            if own:
                sender.close()
        assert report.ok, f"produce failed: {report.failed[:3]}"
        self.note(records)

    def note(self, records: Sequence[VectorRecord]) -> None:
        for record in records:
            self.expected[int(record.id)] = record
        self.produced += len(records)

    def worker(self, **kwargs: Any) -> IngestWorker:
        stack = kwargs.pop("stack", self.stack)
        name = kwargs.pop("name", f"{self.settings.collection}-w{len(self.worker_names)}")
        self.worker_names.append(name)
        return IngestWorker(
            self.settings,
            kafka=stack.kafka,
            milvus=stack.milvus,
            redis=stack.redis,
            s3=stack.s3,
            pushgateway_url=kwargs.pop("pushgateway_url", None),
            metrics=kwargs.pop("metrics", Metrics(system=False)),
            name=name,
            say=kwargs.pop("say", lambda message: print(f"{time.strftime('%H:%M:%S')} [{name}] {message}")),
            **kwargs,
        )


@contextlib.contextmanager
def running(worker: IngestWorker, **run_kwargs: Any) -> Iterator[IngestWorker]:
    """The worker's loop in a thread; stopped (batch finished, offsets committed, group left) on exit."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            worker.run(**run_kwargs)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            failure.append(exc)

    thread = threading.Thread(target=target, name=f"worker-{worker.name}", daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(timeout=60)
        worker.close()
    assert not thread.is_alive(), "the worker did not stop within 60 s of stop()"
    if failure:
        raise failure[0]


def milvus_rows(store: VectorStore, collection: str) -> list[dict[str, Any]]:
    return [row for batch in store.iterate(collection, batch_size=2000) for row in batch]


def assert_exactly_once(store: VectorStore, pipeline: Pipeline) -> None:
    """Every produced id is in Milvus once, with the content of its last version: none lost, none doubled."""
    collection = pipeline.settings.collection
    store.wait_loaded(collection, timeout=120)
    rows = milvus_rows(store, collection)
    ids = [int(row["id"]) for row in rows]
    assert len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} ids are stored more than once"
    missing = sorted(set(pipeline.expected) - set(ids))
    extra = sorted(set(ids) - set(pipeline.expected))
    assert not missing, f"{len(missing)} records lost, e.g. {missing[:5]}"
    assert not extra, f"{len(extra)} records nobody produced, e.g. {extra[:5]}"
    assert store.count(collection) == len(pipeline.expected)
    for row in rows:
        want = pipeline.expected[int(row["id"])]
        np.testing.assert_array_equal(np.asarray(row["vector"], dtype=np.float32), want.vector)
        assert {k: row[k] for k in want.metadata} == want.metadata, f"record {row['id']} has stale metadata"


def assert_cache_not_stale(cache: RecordCache, pipeline: Pipeline) -> int:
    """A cached record may be missing (read-through fills it) but never differ from the last version;
    returns how many are cached."""
    cached = cache.get_many(sorted(pipeline.expected))
    present = 0
    for record_id, record in cached.items():
        if record is None:
            continue
        present += 1
        want = pipeline.expected[record_id]
        assert record.metadata == want.metadata, f"cache holds a stale version of {record_id}"
        np.testing.assert_array_equal(record.vector, want.vector)
    return present


def prom_value(prometheus_url: str, query: str) -> float | None:
    result = promql(prometheus_url, query)
    return float(result[0]["value"][1]) if result else None


# -- fixtures -----------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def stack(
    kafka_service: Endpoint,
    milvus_service: Endpoint,
    redis_service: Endpoint,
    s3_service: Endpoint,
    prometheus_service: Endpoint,
    pushgateway_service: Endpoint,
) -> Stack:
    env: Mapping[str, str] = {
        **kafka_service.env,
        **milvus_service.env,
        **redis_service.env,
        **s3_service.env,
        **prometheus_service.env,
        **pushgateway_service.env,
    }
    return Stack(
        kafka=KafkaConfig.from_env(env),
        milvus=MilvusConfig.from_env(env),
        redis=RedisConfig.from_env(env),
        s3=S3Config.from_env(env),
        pushgateway_url=env["PUSHGATEWAY_URL"],
        prometheus_url=env["PROMETHEUS_URL"],
        env=dict(env),
    )


@pytest.fixture(scope="session")
def store(stack: Stack) -> Iterator[VectorStore]:
    with VectorStore(stack.milvus) as shared:
        yield shared


@pytest.fixture
def pipeline(stack: Stack, unique_name: Callable[[str], str], cleanup: Callable[..., None]) -> Pipeline:
    """A topic (4 partitions) with its dead-letter topic, a collection, a cache namespace, a bucket and a
    metrics job of this test's own; all removed at teardown."""
    name = unique_name("e2e")
    settings = PipelineSettings(
        topic=f"{name}_in",
        collection=name,
        dimension=DIM,
        group=f"{name}_group",
        batch_size=200,
        fields=(FieldSpec("source", "varchar", max_length=16), FieldSpec("seq", "int64")),
        cache_namespace=name,
        events_channel="ingested",
        metrics_job=name,
        backup_bucket=name.replace("_", "-"),
    )
    admin = TopicAdmin(stack.kafka)
    admin.create_topic(settings.topic, partitions=PARTITIONS)
    cleanup(admin.delete_topic, settings.topic)
    cleanup(admin.delete_topic, settings.dlq_topic)
    objects = ObjectStore(stack.s3)
    objects.create_bucket(settings.backup_bucket)
    cleanup(objects.delete_bucket, settings.backup_bucket, force=True, missing_ok=True)

    def drop_everything() -> None:
        with VectorStore(stack.milvus) as store:
            store.drop_collection(settings.collection)
        with RedisCache(stack.redis, namespace=settings.cache_namespace) as cache:
            cache.clear()

    made = Pipeline(settings, stack, settings.backup_bucket)

    def delete_pushed_metrics() -> None:
        for worker in made.worker_names:
            Metrics.delete_pushed(stack.pushgateway_url, settings.metrics_job, grouping_key={"instance": worker})

    cleanup(drop_everything)
    cleanup(delete_pushed_metrics)
    return made


@pytest.fixture
def record_cache(pipeline: Pipeline) -> Iterator[RecordCache]:
    with RedisCache(pipeline.stack.redis, namespace=pipeline.settings.cache_namespace) as cache:
        yield RecordCache(cache, pipeline.settings.cache_ttl)


def worker_command(pipeline: Pipeline, *extra: str) -> list[str]:
    """The `vectorstack-pipeline worker` command line of this pipeline (what an operator would run)."""
    s = pipeline.settings
    argv = [sys.executable, "-m", "vectorstack.pipeline", "worker", "--topic", s.topic, "--collection", s.collection]
    argv += ["--dimension", str(s.dimension), "--group", s.group, "--batch-size", str(s.batch_size)]
    argv += ["--cache-namespace", s.cache_namespace, "--metrics-job", s.metrics_job, "--pushgateway", ""]
    for spec in s.fields:
        argv += ["--field", f"{spec.name}:{spec.type}" + (f":{spec.max_length}" if spec.max_length else "")]
    if s.index.type != "HNSW":
        argv += ["--index", s.index.type]
    return [*argv, *extra]


@pytest.fixture
def spawn(cleanup: Callable[..., None]) -> Callable[..., subprocess.Popen[str]]:
    """Start a command with the stack's variables; whatever still runs at teardown is killed."""

    def start(argv: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            list(argv),
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

        def reap() -> None:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=30)

        cleanup(reap)
        return proc

    return start


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in item.nodeid or item.nodeid.startswith("e2e/"):
            item.add_marker(pytest.mark.e2e)
            # Every scenario moves thousands of records through five services: the slow-test time limit.
            item.add_marker(pytest.mark.slow)
