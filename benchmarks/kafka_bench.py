"""Kafka: producer throughput (200 B and 1 MB messages), consumer throughput, end-to-end latency."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping

from confluent_kafka import Consumer, Producer

from benchmarks.core import Bench
from vectorstack.config import KafkaConfig
from vectorstack.streaming import StreamConsumer, StreamProducer, TopicAdmin

GROUP = "kafka"
MB = 1_000_000


def run(bench: Bench, env: Mapping[str, str]) -> None:
    config = KafkaConfig.from_env(env)
    admin = TopicAdmin(config)
    topics: list[str] = []

    def topic(partitions: int = 4, big: bool = False) -> str:
        name = f"bench-{uuid.uuid4().hex[:8]}"
        admin.create_topic(name, partitions=partitions, config={"max.message.bytes": str(2 * MB)} if big else None)
        topics.append(name)
        return name

    try:
        _produce(bench, config, topic, n=bench.size(200_000, 50_000), size=200, name="200 B", threshold=10_000)
        _produce(bench, config, lambda: topic(big=True), n=bench.size(100, 30), size=MB, name="1 MB", threshold=None)
        _consume(bench, config, topic())
        _end_to_end(bench, config, topic(partitions=1), topic(partitions=1))
    finally:
        for name in topics:
            admin.delete_topic(name)


def _raw_producer(config: KafkaConfig, big: bool, linger_ms: int = 5) -> Producer:
    """The library producer's defaults (idempotent, zstd), so both sides send the same way."""
    settings = {
        **config.client_settings(),
        "enable.idempotence": True,
        "compression.type": "zstd",
        "linger.ms": linger_ms,
    }
    if big:
        settings["message.max.bytes"] = 2 * MB
    return Producer(settings)


def _produce(
    bench: Bench, config: KafkaConfig, topic: object, *, n: int, size: int, name: str, threshold: float | None
) -> None:
    big = size >= MB
    payload = b"v" * size
    messages = [(str(i).encode(), payload, None) for i in range(n)]
    library = StreamProducer(config, max_message_bytes=2 * MB if big else 1_000_000)
    raw = _raw_producer(config, big)
    target = topic() if callable(topic) else str(topic)

    def lib() -> None:
        report = library.send_messages(target, messages)
        assert report.ok, report.failed[:2]

    failed: list[object] = []

    def confirm(error: object, _message: object) -> None:
        # The same guarantee as the library's report: every message confirmed, failures kept.
        if error is not None:
            failed.append(error)

    def baseline() -> None:
        for key, value, _ in messages:
            while True:
                try:
                    raw.produce(target, value=value, key=key, on_delivery=confirm)
                    break
                except BufferError:
                    raw.poll(0.05)
        raw.flush(60)
        assert not failed, failed[:2]

    unit, work = ("MB/s", n * size // MB) if big else ("messages/s", n)
    bench.throughput(
        f"kafka produce {name} messages",
        unit,
        work,
        lib,
        baseline,
        "confluent-kafka Producer",
        threshold=threshold,
        group=GROUP,
    )
    library.close()


def _consume(bench: Bench, config: KafkaConfig, target: str) -> None:
    n = bench.size(200_000, 50_000)
    with StreamProducer(config) as producer:
        producer.send_messages(target, [(str(i).encode(), b"v" * 200, None) for i in range(n)])

    def lib() -> None:
        consumer = StreamConsumer([target], f"g-{uuid.uuid4().hex[:6]}", config)
        got = 0
        while got < n:
            got += len(consumer.poll(1000, timeout=1.0))
        consumer.close()

    def baseline() -> None:
        consumer = Consumer(
            {
                **config.client_settings(),
                "group.id": f"g-{uuid.uuid4().hex[:6]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 10,
            }
        )
        consumer.subscribe([target])
        got = 0
        while got < n:
            for m in consumer.consume(1000, timeout=1.0):
                if not m.error():  # the same work as the library's poll: every field read
                    m.key(), m.value(), m.headers(), m.timestamp(), m.offset()
                    got += 1
        consumer.close()

    bench.throughput("kafka consume 200 B", "messages/s", n, lib, baseline, "confluent-kafka Consumer", group=GROUP)


def _end_to_end(bench: Bench, config: KafkaConfig, target: str, raw_target: str) -> None:
    """Messages sent every 5 ms, each carrying its send time; a consumer thread notes when each arrives.

    Both consumers ask for one message at a time: a batch call (consume(100, timeout)) returns only when
    its batch is full or its timeout is over, which would measure that wait (0-100 ms), not the broker.
    Library and raw clients take turns in rounds, so a slow stretch of the machine lands on both.
    """
    rounds, per_round = 5, bench.size(100, 30)

    def measure(
        send: Callable[[bytes], None], receive: Callable[[], list[bytes]], ready: Callable[[], bool]
    ) -> list[float]:
        arrived: list[float] = []
        stop, assigned = threading.Event(), threading.Event()

        def consume() -> None:
            # Only this thread touches the consumer: librdkafka consumers are not for concurrent callers.
            while not stop.is_set():
                for value in receive():
                    arrived.append((time.perf_counter() - float(value)) * 1000)
                if not assigned.is_set() and ready():
                    assigned.set()

        thread = threading.Thread(target=consume)
        thread.start()
        assigned.wait(30)
        for _ in range(per_round):
            send(repr(time.perf_counter()).encode())
            time.sleep(0.005)
        deadline = time.monotonic() + 30
        while len(arrived) < per_round and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()
        thread.join()
        return arrived

    producer = StreamProducer(config, linger_ms=0)
    consumer = StreamConsumer([target], f"g-{uuid.uuid4().hex[:6]}", config)
    raw = _raw_producer(config, big=False, linger_ms=0)
    raw_consumer = Consumer(
        {
            **config.client_settings(),
            "group.id": f"g-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 10,
        }
    )
    raw_consumer.subscribe([raw_target])

    def raw_send(value: bytes) -> None:
        raw.produce(raw_target, value=value, key=b"k")
        raw.flush(10)

    lib_ms: list[float] = []
    raw_ms: list[float] = []
    for turn in range(rounds + 1):  # the first round of each warms up and is not counted
        lib = measure(
            lambda value: _ignore(producer.send_messages(target, [(b"k", value, None)])),
            lambda: [m.value or b"0" for m in consumer.poll(1, timeout=0.1)],
            lambda: bool(consumer.assignment()),
        )
        base = measure(
            raw_send,
            lambda: [m.value() or b"0" for m in raw_consumer.consume(1, timeout=0.1) if not m.error()],
            lambda: bool(raw_consumer.assignment()),
        )
        if turn:
            lib_ms += lib
            raw_ms += base
    consumer.close()
    raw_consumer.close()
    bench.latency(
        "kafka end-to-end",
        lib_ms,
        raw_ms,
        "confluent-kafka",
        quantiles=(50, 95),
        thresholds={50: 100.0, 95: 100.0},
        group=GROUP,
    )


def _ignore(_result: object) -> None:
    return None
