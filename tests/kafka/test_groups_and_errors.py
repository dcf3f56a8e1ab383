"""Consumer groups, committed offsets, dead letters, lag, topic administration, and failures."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest

from testservices.ports import free_port
from vectorstack.config import KafkaConfig
from vectorstack.errors import (
    AlreadyExistsError,
    InvalidInputError,
    ServiceUnavailableError,
    UnknownTopicError,
    ValueTooLargeError,
)
from vectorstack.streaming import (
    DeadLetters,
    DecodeError,
    StreamConsumer,
    StreamProducer,
    TopicAdmin,
    VectorRecord,
    encode,
)
from vectorstack.streaming.consumer import HEADER_DLQ_REASON, HEADER_DLQ_SOURCE

from ..waiting import eventually
from .conftest import drain

pytestmark = [pytest.mark.integration, pytest.mark.kafka]
Track = Callable[[StreamConsumer], StreamConsumer]


def produce(config: KafkaConfig, topic: str, n: int, start: int = 0) -> None:
    with StreamProducer(config) as producer:
        report = producer.send_messages(
            topic, [(str(i).encode(), str(i).encode(), None) for i in range(start, start + n)]
        )
    assert report.delivered == n


def test_two_consumers_split_the_partitions(
    kafka_config: KafkaConfig, make_topic: Callable[..., str], group: str, consumers: Track
) -> None:
    topic = make_topic(partitions=4)
    produce(kafka_config, topic, 200)
    assigned: dict[str, list[tuple[str, int]]] = {"a": [], "b": []}
    first = consumers(StreamConsumer([topic], group, kafka_config, on_assign=assigned["a"].extend))
    second = consumers(StreamConsumer([topic], group, kafka_config, on_assign=assigned["b"].extend))
    seen: list[tuple[int, int]] = []

    def poll_both() -> tuple[int, bool]:
        seen.extend((m.partition, m.offset) for m in first.poll(timeout=0.2))
        seen.extend((m.partition, m.offset) for m in second.poll(timeout=0.2))
        return len(seen), bool(first.assignment() and second.assignment())

    eventually(
        poll_both,
        "200 messages and partitions for both consumers (messages seen, both assigned)",
        interval=0,
        until=lambda state: state[0] >= 200 and state[1],
    )
    mine, theirs = set(first.assignment()), set(second.assignment())
    assert mine, "the first consumer got partitions"
    assert theirs, "the second consumer got partitions"
    assert not mine & theirs, "a partition belongs to one consumer of a group"
    assert mine | theirs == {(topic, p) for p in range(4)}
    assert len(set(seen)) == 200, "every message once across the group"


def test_a_restarted_consumer_resumes_at_its_commit(
    kafka_config: KafkaConfig, topic: str, group: str, consumers: Track
) -> None:
    produce(kafka_config, topic, 100)
    first = consumers(StreamConsumer([topic], group, kafka_config))
    got = drain(lambda: first.poll(max_messages=10), 50)
    processed = got[:50]
    assert len(processed) == 50
    # Commit exactly the first 50: commit() covers all that poll returned, so poll no more than that.
    first._positions = {(topic, 0): processed[-1].offset + 1}
    first.commit()
    first.close()
    second = consumers(StreamConsumer([topic], group, kafka_config))
    rest = drain(second.poll, 50)
    assert [m.offset for m in rest] == list(range(50, 100)), "no loss, no repeat"
    assert second.poll(timeout=0.5) == []


def test_uncommitted_work_is_delivered_again(
    kafka_config: KafkaConfig, topic: str, group: str, consumers: Track
) -> None:
    produce(kafka_config, topic, 10)
    first = consumers(StreamConsumer([topic], group, kafka_config))
    assert len(drain(first.poll, 10)) == 10
    first.close()  # crashed before commit
    second = consumers(StreamConsumer([topic], group, kafka_config))
    assert [m.offset for m in drain(second.poll, 10)] == list(range(10)), "at-least-once"


def test_undecodable_records_go_to_the_dead_letter_topic(
    kafka_config: KafkaConfig, make_topic: Callable[..., str], group: str, consumers: Track
) -> None:
    source, dead = make_topic(), make_topic()
    good = VectorRecord.of(1, np.ones(8))
    wrong_dim = VectorRecord.of(2, np.ones(4))
    with StreamProducer(kafka_config) as producer:
        producer.send_messages(
            source,
            [
                encode(good),
                (b"junk", b"not a record", None),
                encode(wrong_dim),
                (b"3", b"VR\x08\x00\x00\x00", [("vs-schema", b"1")]),
            ],
        )
        producer.send_records(source, [VectorRecord.of(4, np.zeros(8))])
        letters = DeadLetters(producer, dead)
        consumer = consumers(StreamConsumer([source], group, kafka_config, expected_dim=8, dead_letters=letters))
        records = drain(consumer.poll_records, 2)
    assert [r.record.id for r in records] == [1, 4], "the worker goes on past bad records"
    assert letters.sent == 3
    assert "no vs-schema header" in letters.reasons[0]
    assert "dimension 4, expected 8" in letters.reasons[1]
    assert "needs 32" in letters.reasons[2]
    reader = consumers(StreamConsumer([dead], group + "_dlq", kafka_config))
    dead_messages = drain(reader.poll, 3)
    assert dead_messages[0].value == b"not a record", "the original bytes are kept"
    headers = dict(dead_messages[0].headers)
    assert headers[HEADER_DLQ_REASON].startswith(b"no vs-schema header")
    assert headers[HEADER_DLQ_SOURCE] == f"{source}/0/1".encode()


def test_without_a_dead_letter_topic_bad_records_raise(
    kafka_config: KafkaConfig, topic: str, group: str, consumers: Track
) -> None:
    produce(kafka_config, topic, 1)
    consumer = consumers(StreamConsumer([topic], group, kafka_config))
    with pytest.raises(DecodeError, match="no vs-schema header"):
        drain(consumer.poll_records, 1)


@pytest.mark.broker_feature("watermarks")
def test_consumer_lag_is_reported(
    kafka_config: KafkaConfig, admin: TopicAdmin, make_topic: Callable[..., str], group: str, consumers: Track
) -> None:
    topic = make_topic(partitions=2)
    produce(kafka_config, topic, 30)
    assert sum(admin.consumer_lag(group, topic).values()) == 30, "nothing committed: everything lags"
    consumer = consumers(StreamConsumer([topic], group, kafka_config))
    drain(consumer.poll, 30)
    consumer.commit()
    assert admin.consumer_lag(group, topic) == {0: 0, 1: 0}
    produce(kafka_config, topic, 7, start=30)
    assert sum(admin.consumer_lag(group, topic).values()) == 7


def test_topic_administration(
    admin: TopicAdmin, unique_name: Callable[[str], str], cleanup: Callable[..., None]
) -> None:
    name = unique_name("admin")
    cleanup(admin.delete_topic, name)
    assert admin.create_topic(name, partitions=3) is True
    assert name in admin.list_topics()
    assert admin.partitions(name) == 3
    with pytest.raises(AlreadyExistsError, match="exist_ok=True"):
        admin.create_topic(name)
    assert admin.create_topic(name, exist_ok=True) is False
    with pytest.raises(InvalidInputError, match="partitions must be a whole number from 1"):
        admin.create_topic(unique_name("bad"), partitions=0)
    admin.delete_topic(name)
    assert name not in admin.list_topics()
    with pytest.raises(UnknownTopicError, match=name):
        admin.partitions(name)


@pytest.mark.broker_feature("create_partitions")
def test_adding_partitions(admin: TopicAdmin, make_topic: Callable[..., str]) -> None:
    topic = make_topic(partitions=1)
    admin.add_partitions(topic, 3)
    assert admin.partitions(topic) == 3


def test_unknown_topic_is_refused_before_sending(kafka_config: KafkaConfig, unique_name: Callable[[str], str]) -> None:
    ghost = unique_name("ghost")
    with StreamProducer(kafka_config) as producer, pytest.raises(UnknownTopicError, match=ghost):
        producer.send_messages(ghost, [(b"k", b"v", None)])


def test_too_large_message_names_the_limit(kafka_config: KafkaConfig, topic: str) -> None:
    too_large = pytest.raises(ValueTooLargeError, match=r"message 1 .* 20,001 bytes, over the limit of 10,000 bytes")
    with StreamProducer(kafka_config, max_message_bytes=10_000) as producer, too_large:
        producer.send_messages(topic, [(b"k", b"small", None), (b"k", b"x" * 20_000, None)])


def test_unreachable_broker_fails_within_the_timeout() -> None:
    config = KafkaConfig(bootstrap_servers=f"127.0.0.1:{free_port()}", timeout=2.0)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError, match=r"kafka at 127\.0\.0\.1:\d+ unreachable after 2 s") as info:
        StreamProducer(config).send_messages("anything", [(b"k", b"v", None)])
    assert time.monotonic() - started < 15
    assert info.value.__cause__ is not None
    with pytest.raises(ServiceUnavailableError):
        TopicAdmin(config).list_topics()


def test_bad_record_input_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="NaN"):
        VectorRecord.of(1, [0.0, float("nan")])
    with pytest.raises(InvalidInputError, match="1-D"):
        VectorRecord.of(1, np.zeros((2, 2)))
    with pytest.raises(InvalidInputError, match="id"):
        VectorRecord.of(True, [1.0])
    with pytest.raises(InvalidInputError, match="JSON"):
        encode(VectorRecord.of(1, [1.0], {"when": object()}))
    with pytest.raises(InvalidInputError, match="compression"):
        StreamProducer(KafkaConfig(), compression="brotli")
