"""Issue 16's Kafka findings, one plain regression test each, on the real broker."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pytest

from testservices.ports import free_port
from vectorstack.config import KafkaConfig
from vectorstack.errors import InvalidInputError, ServiceUnavailableError, UnknownTopicError
from vectorstack.streaming import (
    DeadLetters,
    DecodeError,
    ReceivedRecord,
    StreamConsumer,
    StreamProducer,
    TopicAdmin,
    VectorRecord,
    encode,
)

from .conftest import drain

if TYPE_CHECKING:
    from vectorstack.streaming import Undecodable

pytestmark = [pytest.mark.integration, pytest.mark.kafka]
Track = Callable[[StreamConsumer], StreamConsumer]
UNREACHABLE_TIMEOUT_S = 2.0
# One metadata request (at most 1 s) confirms the outage, and a poll waits in slices of 0.25 s.
MARGIN_S = 1.5


def test_an_empty_group_is_refused_not_a_process_abort(kafka_config: KafkaConfig) -> None:
    """Finding 1: librdkafka's C assertion killed the interpreter (exit 134); run it where that cannot take
    pytest down."""
    script = (
        "from vectorstack.config import KafkaConfig\n"
        "from vectorstack.errors import InvalidInputError\n"
        "from vectorstack.streaming import StreamConsumer\n"
        f"config = KafkaConfig(bootstrap_servers={kafka_config.bootstrap_servers!r})\n"
        "try:\n"
        "    StreamConsumer(['vectors'], group='', config=config)\n"
        "except InvalidInputError as error:\n"
        "    print('refused:', error)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    assert "refused: consumer group id '' must be a non-empty string" in done.stdout


@pytest.mark.parametrize(
    ("topics", "rule"),
    [
        ([], "at least one topic"),
        ("vectors", "list of topic names"),
        ([""], "1-249 characters"),
        (["."], "not '.' or '..'"),
        ([".."], "not '.' or '..'"),
        (["a" * 250], "1-249 characters"),
        (["has space"], "1-249 characters"),
        (["ünï"], "1-249 characters"),
        ([7], "1-249 characters"),
    ],
)
def test_topic_names_follow_kafkas_rule_everywhere(
    kafka_config: KafkaConfig, admin: TopicAdmin, topics: object, rule: str
) -> None:
    """Finding 1: topics=[] raised librdkafka's raw KafkaException; names are checked in one place for the
    consumer, the producer and the admin."""
    with pytest.raises(InvalidInputError, match=rule):
        StreamConsumer(topics, "group", kafka_config)  # type: ignore[arg-type]
    if isinstance(topics, list) and topics:
        with pytest.raises(InvalidInputError, match=rule):
            StreamProducer(kafka_config).send_messages(topics[0], [(b"k", b"v", None)])
        with pytest.raises(InvalidInputError, match=rule):
            admin.create_topic(topics[0])


@pytest.mark.parametrize("group", ["", None, 3, b"group", "a\x00b"])
def test_group_ids_are_non_empty_strings(
    kafka_config: KafkaConfig, admin: TopicAdmin, topic: str, group: object
) -> None:
    with pytest.raises(InvalidInputError, match="consumer group id"):
        StreamConsumer([topic], group, kafka_config)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="consumer group id"):
        admin.consumer_lag(group, topic)  # type: ignore[arg-type]  # its probe consumer aborted too


def test_extra_cannot_replace_the_group(kafka_config: KafkaConfig, topic: str) -> None:
    """extra={'group.id': ''} reached the same abort as group=''."""
    with pytest.raises(InvalidInputError, match="set by the library"):
        StreamConsumer([topic], "group", kafka_config, extra={"group.id": ""})


def first_error(poll: Callable[[], Sequence[object]], within: float = 30.0) -> Exception:
    """Poll until a call raises (a group join alone takes a second); return what it raised. Every poll
    before that must come back empty."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            got = poll()
        except Exception as error:  # noqa: BLE001 - the caller checks the class
            return error
        assert list(got) == [], f"{got!r} before the error"
    pytest.fail(f"no error within {within:g} s")


def poll_everything(consumer: StreamConsumer, want: int) -> tuple[list[ReceivedRecord], list[Undecodable]]:
    """Poll records until `want` messages were handed over, as records or inside DecodeError."""
    good: list[ReceivedRecord] = []
    bad: list[Undecodable] = []
    deadline = time.monotonic() + 30
    while len(good) + len(bad) < want and time.monotonic() < deadline:
        try:
            good.extend(consumer.poll_records(timeout=0.5))
        except DecodeError as error:
            good.extend(error.records)
            bad.extend(error.undecodable)
    return good, bad


def test_an_undecodable_record_loses_none_of_its_batch(
    kafka_config: KafkaConfig, topic: str, group: str, consumers: Track
) -> None:
    """Finding 2: the good records around a bad one were skipped (positions moved past them) and a commit
    after catching DecodeError made that permanent. Now DecodeError holds them all."""
    with StreamProducer(kafka_config) as producer:
        report = producer.send_messages(
            topic,
            [
                encode(VectorRecord.of(1, [1.0, 2.0])),
                (b"junk", b"not a record", None),
                encode(VectorRecord.of(2, [3.0])),
            ],
        )
    assert report.delivered == 3
    first = consumers(StreamConsumer([topic], group, kafka_config))
    good, bad = poll_everything(first, 3)
    assert [(r.record.id, r.offset) for r in good] == [(1, 0), (2, 2)], "both good records are handed over"
    assert [(b.offset, b.key, b.value) for b in bad] == [(1, b"junk", b"not a record")]
    assert isinstance(bad[0].cause, DecodeError)
    assert "no vs-schema header" in str(bad[0].cause)
    first.commit()  # safe: the caller holds every message of the batch
    first.close()
    with StreamProducer(kafka_config) as producer:
        producer.send_records(topic, [VectorRecord.of(3, [4.0])])
    second = consumers(StreamConsumer([topic], group, kafka_config))
    after = drain(second.poll_records, 1)
    assert [(r.record.id, r.offset) for r in after] == [(3, 3)], "nothing lost, nothing delivered twice"
    assert second.poll(timeout=0.5) == []


def test_a_failed_dead_letter_skips_nothing(
    kafka_config: KafkaConfig, make_topic: Callable[..., str], group: str, consumers: Track
) -> None:
    """Finding 2, the dead-letter path: when sending to the dead-letter topic fails, the batch (good records
    before the bad one included) is delivered again, not skipped."""
    source, dead = make_topic(), make_topic()
    with StreamProducer(kafka_config) as producer:
        producer.send_messages(source, [encode(VectorRecord.of(1, [1.0])), (b"junk", b"x", None)])
        producer.send_records(source, [VectorRecord.of(2, [2.0])])
        consumer = consumers(
            StreamConsumer([source], group, kafka_config, dead_letters=DeadLetters(producer, "vs_no_such_topic"))
        )
        error = first_error(lambda: consumer.poll_records(timeout=0.5))
        assert isinstance(error, UnknownTopicError), repr(error)
        consumer.dead_letters = DeadLetters(producer, dead)
        again = drain(consumer.poll_records, 2)
    assert [(r.record.id, r.offset) for r in again] == [(1, 0), (2, 2)]


def test_an_unreachable_broker_is_reported_by_poll_within_the_timeout() -> None:
    """Finding 10: poll returned [] forever. librdkafka's error events (by code) now end it."""
    config = KafkaConfig(bootstrap_servers=f"127.0.0.1:{free_port()}", timeout=UNREACHABLE_TIMEOUT_S)
    consumer = StreamConsumer(["vectors"], "group", config)
    try:
        started = time.monotonic()
        error = first_error(lambda: consumer.poll(timeout=3.0))
        elapsed = time.monotonic() - started
        assert elapsed <= UNREACHABLE_TIMEOUT_S + MARGIN_S, f"reported after {elapsed:.1f} s"
        assert isinstance(error, ServiceUnavailableError), repr(error)
        assert re.search(r"kafka at 127\.0\.0\.1:\d+ unreachable after 2 s", str(error)), str(error)
        assert error.__cause__ is not None
        assert error.transient
    finally:
        consumer.close()


def test_an_unreachable_broker_is_reported_by_send_within_the_timeout(kafka_config: KafkaConfig, topic: str) -> None:
    """Finding 10 for the producer: a topic it knew, then no broker: the send waited out the delivery
    timeout (3 x the timeout) and returned a report; now the outage ends it, with nothing sent."""
    config = KafkaConfig(bootstrap_servers=f"127.0.0.1:{free_port()}", timeout=UNREACHABLE_TIMEOUT_S)
    producer = StreamProducer(config)
    producer._known_topics.add(topic)  # as after an earlier send, before the broker went away
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError, match="unreachable after 2 s"):
        producer.send_messages(topic, [(b"k", b"v", None)] * 3)
    elapsed = time.monotonic() - started
    assert elapsed <= UNREACHABLE_TIMEOUT_S + MARGIN_S, f"reported after {elapsed:.1f} s"
    assert len(producer._producer) == 0, "the unsent messages were withdrawn, not left to go out later"


def test_admin_calls_on_an_unreachable_broker_raise_the_library_error() -> None:
    """create/delete/add_partitions raised a bare TimeoutError from librdkafka's futures."""
    config = KafkaConfig(bootstrap_servers=f"127.0.0.1:{free_port()}", timeout=1.0)
    admin = TopicAdmin(config)
    for call in (
        lambda: admin.create_topic("t"),
        lambda: admin.delete_topic("t"),
        lambda: admin.add_partitions("t", 2),
    ):
        started = time.monotonic()
        with pytest.raises(ServiceUnavailableError, match="unreachable after 1 s"):
            call()
        assert time.monotonic() - started <= 1.0 + MARGIN_S


def test_tombstones_are_sent_and_received(kafka_config: KafkaConfig, topic: str, group: str, consumers: Track) -> None:
    """value=None raised TypeError; it is a tombstone, what a compacted topic deletes a key with."""
    with StreamProducer(kafka_config) as producer:
        report = producer.send_messages(topic, [(b"id-1", b"v", None), (b"id-1", None, None)])
    assert report.ok
    assert report.delivered == 2
    consumer = consumers(StreamConsumer([topic], group, kafka_config))
    got = drain(consumer.poll, 2)
    assert [(m.key, m.value) for m in got] == [(b"id-1", b"v"), (b"id-1", None)]


@pytest.mark.parametrize(
    ("build", "rule"),
    [
        (lambda c: StreamProducer(c, linger_ms=-1), "linger_ms must be a whole number from 0 to 900,000"),
        (lambda c: StreamProducer(c, linger_ms=True), "linger_ms must be a whole number"),
        (lambda c: StreamProducer(c, max_message_bytes=-1), "max_message_bytes must be a whole number from 1"),
        (lambda c: StreamProducer(c, delivery_timeout=math.nan), "delivery_timeout must be a finite number"),
        (lambda c: StreamProducer(c, idempotence=cast(Any, "yes")), "idempotence must be True or False"),
        (lambda c: StreamProducer(KafkaConfig(c.bootstrap_servers, timeout=math.inf)), "finite.*KAFKA_TIMEOUT"),
        (
            lambda c: TopicAdmin(c).create_topic("t", partitions=cast(Any, "3")),
            "partitions must be a whole number from 1",
        ),
        (lambda c: TopicAdmin(c).add_partitions("t", cast(Any, 2.0)), "total must be a whole number"),
        (
            lambda c: TopicAdmin(c).create_topic("t", config=cast(Any, {"retention.ms": 5})),
            "names and values are strings",
        ),
    ],
)
def test_numbers_and_flags_are_checked_up_front(
    kafka_config: KafkaConfig, build: Callable[[KafkaConfig], object], rule: str
) -> None:
    """The smaller findings: '3' partitions and '5' messages raised TypeError from comparisons, linger_ms=-1
    librdkafka's raw error, max_message_bytes=-1 'over the limit of -1 bytes'."""
    with pytest.raises(InvalidInputError, match=rule):
        build(kafka_config)


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"max_messages": "5"}, "max_messages must be a whole number from 1"),
        ({"max_messages": 0}, "max_messages must be a whole number from 1"),
        ({"timeout": math.nan}, "timeout must be a finite number of seconds"),
        ({"timeout": -1}, "timeout must be a finite number of seconds"),
        ({"timeout": True}, "timeout must be a finite number of seconds"),
    ],
)
def test_poll_arguments_are_checked(
    kafka_config: KafkaConfig, topic: str, group: str, consumers: Track, kwargs: dict[str, object], rule: str
) -> None:
    consumer = consumers(StreamConsumer([topic], group, kafka_config))
    with pytest.raises(InvalidInputError, match=rule):
        consumer.poll(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=rule):
        consumer.poll_records(**kwargs)  # type: ignore[arg-type]


def test_vectors_must_be_real_numbers() -> None:
    """A complex vector lost its imaginary part, text was read as numbers; a VectorRecord built directly
    with a NaN went out and only the consumer refused it."""
    with pytest.raises(InvalidInputError, match="real numbers"):
        VectorRecord.of(1, np.array([1 + 2j, 3]))
    with pytest.raises(InvalidInputError, match="real numbers"):
        VectorRecord.of(1, ["1.5", "2"])
    with pytest.raises(InvalidInputError, match="NaN"):
        encode(VectorRecord(1, np.array([np.nan], dtype=np.float32)))
    with pytest.raises(InvalidInputError, match="NaN or infinity"):
        VectorRecord.of(1, np.array([1e300]))  # float32 cannot hold it
