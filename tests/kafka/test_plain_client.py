"""What a user of `testservices up kafka` gets: plain confluent-kafka works with KAFKA_BOOTSTRAP_SERVERS."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from testservices.state import Endpoint

from ..waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.kafka]


def test_plain_confluent_kafka_three_partitions_10000_messages(
    kafka_service: Endpoint, unique_name: Callable[[str], str], cleanup: Callable[..., None]
) -> None:
    servers = kafka_service.env["KAFKA_BOOTSTRAP_SERVERS"]
    topic = unique_name("plain")
    admin = AdminClient({"bootstrap.servers": servers})
    cleanup(lambda: admin.delete_topics([topic])[topic].result(10))
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(10)
    producer = Producer({"bootstrap.servers": servers})
    for i in range(10_000):
        producer.produce(topic, key=str(i).encode(), value=b"v" * 200)
        if i % 1000 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    consumer = Consumer(
        {
            "bootstrap.servers": servers,
            "group.id": unique_name("plaingroup"),
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
        }
    )
    cleanup(consumer.close)
    consumer.subscribe([topic])
    keys: set[bytes] = set()
    partitions: set[int] = set()

    def consume() -> int:
        for message in consumer.consume(1000, 1.0):
            if message.error() is None:
                keys.add(message.key() or b"")
                partitions.add(message.partition() or 0)
        return len(keys)

    eventually(consume, "all 10,000 keys", timeout=60, interval=0, until=lambda n: n >= 10_000)
    assert len(keys) == 10_000
    assert partitions == {0, 1, 2}
