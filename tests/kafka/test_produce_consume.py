"""Round trips: raw messages with keys, headers and timestamps; vector records; big batches; codecs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from vectorstack.config import KafkaConfig
from vectorstack.monitoring import Metrics
from vectorstack.streaming import StreamConsumer, StreamProducer, VectorRecord

from .conftest import drain

pytestmark = [pytest.mark.integration, pytest.mark.kafka]


def test_raw_round_trip_keeps_keys_headers_and_timestamps(
    kafka_config: KafkaConfig, topic: str, group: str, consumers: Callable[[StreamConsumer], StreamConsumer]
) -> None:
    stamp = 1_700_000_000_123
    with StreamProducer(kafka_config) as producer:
        report = producer.send_messages(
            topic,
            [(b"k1", b"hello", [("trace", b"abc")]), (None, b"no key", None)],
            timestamps=[stamp, None],
        )
    assert report.ok
    assert report.delivered == 2
    consumer = consumers(StreamConsumer([topic], group, kafka_config))
    got = drain(consumer.poll, 2)
    assert [(m.key, m.value) for m in got] == [(b"k1", b"hello"), (None, b"no key")]
    assert got[0].headers == [("trace", b"abc")]
    assert got[0].timestamp_ms == stamp
    assert got[1].timestamp_ms is not None
    assert got[1].timestamp_ms > stamp, "unset timestamps are the time of sending"
    assert [m.offset for m in got] == [0, 1]


def test_vector_records_arrive_exactly(
    kafka_config: KafkaConfig, topic: str, group: str, consumers: Callable[[StreamConsumer], StreamConsumer]
) -> None:
    rng = np.random.default_rng(7)
    sent = [
        VectorRecord.of(i if i % 2 else f"doc-{i}", rng.random(64), {"n": i, "tags": ["a", "b"], "score": i / 3})
        for i in range(50)
    ]
    with StreamProducer(kafka_config) as producer:
        assert producer.send_records(topic, sent).delivered == 50
    consumer = consumers(StreamConsumer([topic], group, kafka_config, expected_dim=64))
    got = drain(consumer.poll_records, 50)
    assert len(got) == 50
    for original, received in zip(sent, (r.record for r in got), strict=True):
        assert received.id == original.id, "int ids stay ints, str ids stay strs"
        np.testing.assert_array_equal(received.vector, original.vector)  # bit for bit: raw float32 bytes
        assert received.vector.dtype == np.float32
        assert received.metadata == original.metadata


@pytest.mark.slow
def test_100000_records_are_all_delivered(
    kafka_config: KafkaConfig,
    make_topic: Callable[..., str],
    group: str,
    consumers: Callable[[StreamConsumer], StreamConsumer],
) -> None:
    topic = make_topic(partitions=3)
    vector = np.arange(16, dtype=np.float32)
    with StreamProducer(kafka_config, linger_ms=20) as producer:
        report = producer.send_records(topic, (VectorRecord(i, vector, {"i": i}) for i in range(100_000)))
    assert report.failed == []
    assert report.delivered == 100_000
    assert sum(report.partitions.values()) == 100_000
    assert len(report.partitions) == 3
    consumer = consumers(StreamConsumer([topic], group, kafka_config))
    got = drain(lambda: consumer.poll(5000), 100_000, timeout=120)
    assert len(got) == 100_000
    assert len({(m.partition, m.offset) for m in got}) == 100_000, "no duplicates"


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_compression_codecs(
    kafka_config: KafkaConfig,
    topic: str,
    group: str,
    consumers: Callable[[StreamConsumer], StreamConsumer],
    codec: str,
) -> None:
    payload = b"vector stack " * 500
    with StreamProducer(kafka_config, compression=codec) as producer:
        assert producer.send_messages(topic, [(b"k", payload, None)] * 20).delivered == 20
    consumer = consumers(StreamConsumer([topic], group, kafka_config))
    got = drain(consumer.poll, 20)
    assert [m.value for m in got] == [payload] * 20


def test_messages_over_one_megabyte(
    kafka_config: KafkaConfig,
    make_topic: Callable[..., str],
    group: str,
    consumers: Callable[[StreamConsumer], StreamConsumer],
) -> None:
    topic = make_topic(max_message_bytes=str(4 * 1024 * 1024))
    big = np.random.default_rng(1).random(400_000).astype(np.float32)  # 1.6 MB of vector
    with StreamProducer(kafka_config, max_message_bytes=3 * 1024 * 1024, compression="none") as producer:
        report = producer.send_records(topic, [VectorRecord.of("big", big)])
    assert report.ok, report.failed
    consumer = consumers(
        StreamConsumer(
            [topic],
            group,
            kafka_config,
            extra={"fetch.max.bytes": 8 * 1024 * 1024, "max.partition.fetch.bytes": 8 * 1024 * 1024},
        )
    )
    [received] = drain(consumer.poll_records, 1)
    np.testing.assert_array_equal(received.record.vector, big)


def test_idempotence_is_on_by_default(kafka_config: KafkaConfig, topic: str) -> None:
    producer = StreamProducer(kafka_config)
    assert producer.settings["enable.idempotence"] is True
    assert producer.settings["compression.type"] == "zstd"
    assert producer.send_messages(topic, [(b"a", b"1", None)]).delivered == 1


def test_producer_and_consumer_report_their_metrics(
    kafka_config: KafkaConfig, topic: str, group: str, consumers: Callable[[StreamConsumer], StreamConsumer]
) -> None:
    metrics = Metrics(system=False)
    with StreamProducer(kafka_config, tracker=metrics) as producer:
        producer.send_messages(topic, [(b"k", b"v", None)] * 25)
    consumer = consumers(StreamConsumer([topic], group, kafka_config, tracker=metrics))
    assert len(drain(consumer.poll, 25)) == 25
    sample = metrics.registry.get_sample_value
    assert sample("vectorstack_records_total", {"service": "kafka", "operation": "produce"}) == 25
    assert sample("vectorstack_records_total", {"service": "kafka", "operation": "poll"}) == 25
    assert sample("vectorstack_operations_total", {"service": "kafka", "operation": "produce", "outcome": "ok"}) == 1
    assert (sample("vectorstack_operation_seconds_count", {"service": "kafka", "operation": "poll"}) or 0) >= 1
