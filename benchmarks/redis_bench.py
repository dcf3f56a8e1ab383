"""Redis: GET/SET latency, vector cache throughput, pub/sub delivery latency, stream throughput."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import cast

import numpy as np

import redis
from benchmarks.core import Bench, paired_latencies
from vectorstack.cache import RedisCache
from vectorstack.config import RedisConfig

GROUP = "redis"


def raw_client(config: RedisConfig) -> redis.Redis:
    return redis.Redis(host=config.host, port=config.port, password=config.password, protocol=2)


def run(bench: Bench, env: Mapping[str, str]) -> None:
    config = RedisConfig.from_env(env)
    namespace = f"bench{uuid.uuid4().hex[:6]}"
    with RedisCache(config, namespace=namespace) as cache:
        raw = raw_client(config)
        try:
            _kv(bench, cache, raw)
            _vectors(bench, cache, raw)
            _pubsub(bench, cache, raw)
            _streams(bench, cache, raw)
        finally:
            cache.clear()
            for key in raw.scan_iter(f"rawbench:{namespace}:*"):
                raw.delete(key)
            raw.close()


def _kv(bench: Bench, cache: RedisCache, raw: redis.Redis) -> None:
    count = bench.size(5000, 1000)
    value = b"x" * 100
    cache.kv.set("k", value)
    raw.set("rawbench:k", value)
    for op, lib, base in (
        ("SET", lambda: cache.kv.set("k", value), lambda: raw.set("rawbench:k", value)),
        ("GET", lambda: cache.kv.get("k"), lambda: raw.get("rawbench:k")),
    ):
        lib_ms, raw_ms = paired_latencies(lib, base, count)
        bench.latency(
            f"redis {op} latency",
            lib_ms,
            raw_ms,
            "redis-py",
            quantiles=(50, 99),
            thresholds={50: 1.0, 99: 1.0},
            group=GROUP,
        )
    raw.delete("rawbench:k")


def _vectors(bench: Bench, cache: RedisCache, raw: redis.Redis) -> None:
    n = bench.size(2000, 500)
    vectors = np.random.default_rng(1).random((n, 128), dtype=np.float32)
    arrays = {f"v{i}": vectors[i] for i in range(n)}
    keys = list(arrays)

    def raw_set() -> None:
        pipe = raw.pipeline(transaction=False)
        for key, array in arrays.items():
            pipe.set(f"rawbench:v:{key}", array.tobytes())
        pipe.execute()

    def raw_get() -> None:
        blobs = raw.mget([f"rawbench:v:{k}" for k in keys])
        [np.frombuffer(cast(bytes, b), dtype=np.float32) for b in blobs]

    bench.throughput(
        "redis vector cache set_many",
        "vectors/s",
        n,
        lambda: cache.vectors.set_many(arrays),
        raw_set,
        "redis-py pipeline + tobytes",
        group=GROUP,
    )
    bench.throughput(
        "redis vector cache get_many",
        "vectors/s",
        n,
        lambda: cache.vectors.get_many(keys),
        raw_get,
        "redis-py MGET + frombuffer",
        group=GROUP,
    )
    raw.delete(*(f"rawbench:v:{k}" for k in keys))


def _pubsub(bench: Bench, cache: RedisCache, raw: redis.Redis) -> None:
    count = bench.size(1000, 200)
    raw_pubsub = raw.pubsub()  # type: ignore[no-untyped-call]
    raw_pubsub.subscribe("rawbench-channel")
    raw_pubsub.get_message(timeout=5)  # the subscribe confirmation
    with cache.events.subscribe("bench") as subscription:

        def library() -> None:  # EventBus (JSON payloads) and its Subscription
            cache.events.publish("bench", {"t": 1})
            subscription.get(timeout=5)

        def baseline() -> None:  # redis-py PubSub, the same JSON payload both ways
            raw.publish("rawbench-channel", json.dumps({"t": 1}))
            message = None
            while message is None:
                message = raw_pubsub.get_message(timeout=5)
            json.loads(message["data"])

        lib_ms, raw_ms = paired_latencies(library, baseline, count)
    raw_pubsub.close()
    bench.latency(
        "redis pub/sub delivery",
        lib_ms,
        raw_ms,
        "redis-py PubSub",
        quantiles=(50, 99),
        thresholds={50: 10.0, 99: 10.0},
        group=GROUP,
    )


def _streams(bench: Bench, cache: RedisCache, raw: redis.Redis) -> None:
    n = bench.size(50_000, 10_000)
    entries = [{"id": str(i), "v": "x" * 50} for i in range(n)]
    stream = cache.stream("bench")

    def library() -> None:
        for start in range(0, n, 1000):
            stream.add_many(entries[start : start + 1000])

    def baseline() -> None:
        for start in range(0, n, 1000):
            pipe = raw.pipeline(transaction=False)
            for entry in entries[start : start + 1000]:
                pipe.xadd("rawbench:stream", entry)  # type: ignore[arg-type]
            pipe.execute()

    def reset() -> None:
        stream.delete()
        raw.delete("rawbench:stream")

    bench.throughput(
        "redis stream add",
        "messages/s",
        n,
        library,
        baseline,
        "redis-py pipelined XADD",
        threshold=10_000,
        group=GROUP,
        setup=reset,
    )
    reset()
