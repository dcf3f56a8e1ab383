"""Generated bad inputs for every public call of the Kafka clients (issue 16), on the real broker.

Each test calls one client's methods with arguments hypothesis generates to break a stated rule, expects
the library's own error within the timeout (`refusals.check`), and then reads the seeded topic back with a
reader of its own (every partition from the start) to prove that no bad call wrote, skipped or removed
anything: the same messages, in the same places, and no topic created under a refused name.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from confluent_kafka import Consumer, TopicPartition
from hypothesis import given
from hypothesis import strategies as st

from vectorstack.config import KafkaConfig
from vectorstack.streaming import (
    DeadLetters,
    StreamConsumer,
    StreamProducer,
    TopicAdmin,
    VectorRecord,
    decode,
    encode,
)

from ..bad_input import BAD_INPUT_SETTINGS, Refusals
from . import bad_arguments as bad
from .conftest import drain

pytestmark = [pytest.mark.integration, pytest.mark.kafka]
PARTITIONS = 2
Stored = tuple[int, int, bytes | None, bytes | None]  # partition, offset, key, value


@dataclass
class Seeded:
    """A topic holding known messages, and what must still be true of the broker after the bad calls."""

    config: KafkaConfig
    admin: TopicAdmin
    topic: str
    prefix: str
    stored: list[Stored]
    names_tried: set[str] = field(default_factory=set)  # names bad calls used: none may exist afterwards

    def name(self) -> str:
        """A valid topic name no one has used, for calls that are bad in another argument."""
        fresh = f"{self.prefix}_{uuid.uuid4().hex[:10]}"
        self.names_tried.add(fresh)
        return fresh

    def tried(self, value: Any) -> Any:
        """Note a generated name (when it is a str) so the end check can prove no topic got it."""
        if isinstance(value, str) and value != self.topic:
            self.names_tried.add(value)
        return value

    def assert_unchanged(self) -> None:
        assert read_back(self.config, self.topic, len(self.stored)) == self.stored, "the seeded topic changed"
        created = self.names_tried & set(self.admin.list_topics(internal=True))
        assert not created, f"refused calls left topics behind: {sorted(created)}"
        assert self.admin.partitions(self.topic) == PARTITIONS


def read_back(config: KafkaConfig, topic: str, expected: int) -> list[Stored]:
    """Every message of the topic, read by assignment (no group join, no commit), sorted by place; keeps
    reading a moment past `expected` so that an extra message would show."""
    reader = Consumer(
        {**config.client_settings(), "group.id": "vs-read-back", "enable.auto.commit": False, "fetch.wait.max.ms": 10}
    )
    try:
        reader.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        got: list[Stored] = []

        def more() -> list[Stored]:
            batch = [m for m in reader.consume(1000, 0.5) if m.error() is None]
            places = [(m.partition() or 0, m.offset() or 0, m.key(), m.value()) for m in batch]
            got.extend(places)
            return places

        drain(more, expected)
        more()  # anything beyond what was seeded
        return sorted(got)
    finally:
        reader.close()


@pytest.fixture(scope="module")
def seeded(kafka_config: KafkaConfig, admin: TopicAdmin) -> Iterator[Seeded]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    prefix = f"vs_bad_{os.environ.get('TESTSERVICES_RUN_ID', 'local')[-6:]}_{worker}"
    topic = f"{prefix}_seeded"
    admin.create_topic(topic, partitions=PARTITIONS, exist_ok=True)
    records = [VectorRecord.of(i, np.arange(4, dtype=np.float32) + i, {"n": i}) for i in range(10)]
    with StreamProducer(kafka_config) as producer:
        assert producer.send_records(topic, records).delivered == 10
        assert producer.send_messages(topic, [(b"raw", b"not a record", None), (b"gone", None, None)]).delivered == 2
    stored = read_back(kafka_config, topic, 12)
    assert len(stored) == 12
    state = Seeded(kafka_config, admin, topic, prefix, stored)
    yield state
    admin.delete_topic(topic)
    for name in state.names_tried & set(admin.list_topics()):
        admin.delete_topic(name)


@pytest.fixture(scope="module")
def producer(kafka_config: KafkaConfig) -> Iterator[StreamProducer]:
    with StreamProducer(kafka_config) as made:
        yield made


Call = tuple[str, Callable[[], object]]


def call(what: str, function: Callable[[Any], object], values: st.SearchStrategy[Any]) -> st.SearchStrategy[Call]:
    """Examples of one call: a label with the generated value, and the call itself."""
    return values.map(lambda value: (f"{what}: {value!r}", lambda: function(value)))


def one_bad(
    build: Callable[..., object], good: dict[str, Any], **bad_values: st.SearchStrategy[Any]
) -> st.SearchStrategy[Call]:
    """A constructor called with good arguments except one, which breaks its rule."""
    return st.one_of(
        *(
            call(f"{name}=", lambda value, name=name: build(**{**good, name: value}), values)  # type: ignore[misc]
            for name, values in sorted(bad_values.items())
        )
    )


def run_examples(calls: st.SearchStrategy[Call], refusals: Refusals, seeded: Seeded) -> None:
    """Every generated call refused as the contract says; then the broker's data read back unchanged."""

    @BAD_INPUT_SETTINGS
    @given(calls)
    def examples(example: Call) -> None:
        what, run = example
        refusals.check(run, what)

    examples()
    seeded.assert_unchanged()


def test_producer_constructor(kafka_config: KafkaConfig, seeded: Seeded, refusals: Refusals) -> None:
    compressions = ("none", "gzip", "snappy", "lz4", "zstd")
    calls = one_bad(
        StreamProducer,
        {"config": kafka_config},
        config=bad.bad_config(kafka_config),
        compression=st.one_of(st.text(max_size=6).filter(lambda c: c not in compressions), bad.OTHER_TYPES),
        idempotence=bad.bad_flag,
        linger_ms=bad.bad_whole(0, 900_000),
        max_message_bytes=bad.bad_whole(1, 1_000_000_000 - 64 * 1024),
        delivery_timeout=bad.bad_seconds,
        extra=bad.bad_extra(),
        tracker=bad.bad_callback,
    )
    run_examples(calls, refusals, seeded)


def test_send_messages(producer: StreamProducer, seeded: Seeded, refusals: Refusals) -> None:
    """A batch with one bad message among good ones: none of it may reach the topic."""
    good = [(b"k", b"v", None), (b"k2", b"v2", None)]
    calls = st.one_of(
        call("send_messages topic", lambda t: producer.send_messages(seeded.tried(t), good), bad.bad_topic),
        call("send_messages messages", lambda m: producer.send_messages(seeded.topic, m), bad.bad_messages),
        call(
            "send_messages timestamps",
            lambda s: producer.send_messages(seeded.topic, good, timestamps=s),
            bad.bad_timestamps,
        ),
    )
    run_examples(calls, refusals, seeded)


def test_send_records_and_flush(producer: StreamProducer, seeded: Seeded, refusals: Refusals) -> None:
    record = VectorRecord.of(1, [1.0, 2.0])
    unusable = st.one_of(
        bad.bad_vectors().map(lambda v: VectorRecord(1, np.asarray(v, dtype=object), {})),
        bad.bad_record_id.map(lambda i: VectorRecord(i, np.ones(2, dtype=np.float32), {})),
        st.just(VectorRecord(1, np.array([np.nan], dtype=np.float32), {})),
        st.just(VectorRecord(1, np.array([1e300]), {})),
        st.just(VectorRecord(1, np.ones(2, dtype=np.float32), {"when": object()})),
        st.just(VectorRecord(1, np.ones(2, dtype=np.float32), {}, timestamp_ms=-5)),
        bad.not_none(bad.OTHER_TYPES),
    )
    calls = st.one_of(
        call("send_records topic", lambda t: producer.send_records(seeded.tried(t), [record]), bad.bad_topic),
        call("send_records records", lambda r: producer.send_records(seeded.topic, [record, r]), unusable),
        call(
            "send_records batch",
            lambda r: producer.send_records(seeded.topic, r),
            st.one_of(st.integers(), st.text(min_size=1, max_size=3)),
        ),
        call("flush timeout", lambda t: producer.flush(t), bad.bad_seconds),
    )
    run_examples(calls, refusals, seeded)


def test_consumer_constructor(
    kafka_config: KafkaConfig, seeded: Seeded, producer: StreamProducer, refusals: Refusals
) -> None:
    def build(**kwargs: Any) -> None:
        for topic in kwargs["topics"] if isinstance(kwargs["topics"], list) else ():
            seeded.tried(topic)
        StreamConsumer(**kwargs).close()

    not_a_list = bad.not_none(bad.OTHER_TYPES).filter(lambda v: not isinstance(v, list | tuple))
    calls = one_bad(
        build,
        {"topics": [seeded.topic], "group": f"{seeded.prefix}_c", "config": kafka_config},
        topics=st.one_of(st.lists(bad.bad_topic, min_size=1, max_size=2), st.just([]), st.text(max_size=5), not_a_list),
        group=bad.bad_group,
        config=bad.bad_config(kafka_config),
        expected_dim=bad.bad_whole(1, none_ok=True),
        dead_letters=st.one_of(bad.not_none(bad.OTHER_TYPES), st.just(producer), st.text(min_size=1, max_size=3)),
        on_assign=bad.bad_callback,
        on_revoke=bad.bad_callback,
        from_beginning=bad.bad_flag,
        extra=bad.bad_extra(("group.id", "enable.auto.commit", "enable.auto.offset.store")),
        tracker=bad.bad_callback,
    )
    run_examples(calls, refusals, seeded)


def test_poll_and_commit_skip_nothing(kafka_config: KafkaConfig, seeded: Seeded, refusals: Refusals) -> None:
    """Bad polls must not consume: afterwards the same consumer still gets every seeded message."""
    consumer = StreamConsumer([seeded.topic], f"{seeded.prefix}_poll_{uuid.uuid4().hex[:6]}", kafka_config)
    try:
        counts = bad.bad_whole(1, 1_000_000)
        calls = st.one_of(
            call("poll max_messages", lambda n: consumer.poll(n), counts),
            call("poll timeout", lambda t: consumer.poll(1, t), bad.bad_seconds),
            call("poll_records max_messages", lambda n: consumer.poll_records(n), counts),
            call("poll_records timeout", lambda t: consumer.poll_records(1, t), bad.bad_seconds),
        )
        run_examples(calls, refusals, seeded)
        consumer.commit()  # nothing was handed over: commits nothing
        got = drain(lambda: consumer.poll(100, 0.5), len(seeded.stored))
        assert sorted((m.partition, m.offset, m.key, m.value) for m in got) == seeded.stored
    finally:
        consumer.close()
    refusals.check(consumer.poll, "poll on a closed consumer")
    refusals.check(consumer.commit, "commit on a closed consumer")


def test_admin_topic_calls(admin: TopicAdmin, seeded: Seeded, refusals: Refusals) -> None:
    """Nothing created under a refused name or with refused settings; the seeded topic neither deleted nor
    grown by a refused call."""
    calls = st.one_of(
        call("create_topic topic", lambda t: admin.create_topic(seeded.tried(t)), bad.bad_topic),
        call("create_topic partitions", lambda n: admin.create_topic(seeded.name(), partitions=n), bad.bad_whole(1)),
        call("create_topic config", lambda c: admin.create_topic(seeded.name(), config=c), bad.bad_topic_config),
        call("create_topic exist_ok", lambda f: admin.create_topic(seeded.name(), exist_ok=f), bad.bad_flag),
        call("partitions topic", lambda t: admin.partitions(seeded.tried(t)), bad.bad_topic),
        call("add_partitions topic", lambda t: admin.add_partitions(seeded.tried(t), 3), bad.bad_topic),
        call(
            "add_partitions total",
            lambda n: admin.add_partitions(seeded.topic, n),
            st.one_of(bad.bad_whole(1), st.integers(1, PARTITIONS)),  # not an increase: the broker refuses
        ),
        call("delete_topic topic", lambda t: admin.delete_topic(seeded.tried(t)), bad.bad_topic),
        call("delete_topic missing_ok", lambda f: admin.delete_topic(seeded.topic, missing_ok=f), bad.bad_flag),
        call("list_topics internal", lambda f: admin.list_topics(internal=f), bad.bad_flag),
    )
    run_examples(calls, refusals, seeded)


def test_consumer_lag_and_admin_config(
    kafka_config: KafkaConfig, admin: TopicAdmin, seeded: Seeded, refusals: Refusals
) -> None:
    calls = st.one_of(
        call("consumer_lag group", lambda g: admin.consumer_lag(g, seeded.topic), bad.bad_group),
        call("consumer_lag topic", lambda t: admin.consumer_lag("g", seeded.tried(t)), bad.bad_topic),
        call("TopicAdmin config", TopicAdmin, bad.bad_config(kafka_config)),
    )
    run_examples(calls, refusals, seeded)


def test_vector_records(seeded: Seeded, refusals: Refusals) -> None:
    metadata = st.one_of(
        st.integers(), st.text(min_size=1, max_size=3), st.lists(st.integers(), min_size=1, max_size=2)
    )
    calls = st.one_of(
        call("VectorRecord.of vector", lambda v: VectorRecord.of(1, v), bad.bad_vectors()),
        call("VectorRecord.of id", lambda i: VectorRecord.of(i, [1.0]), bad.bad_record_id),
        call("VectorRecord.of metadata", lambda m: VectorRecord.of(1, [1.0], m), metadata),
        call("encode", encode, bad.not_none(bad.OTHER_TYPES)),
    )
    run_examples(calls, refusals, seeded)


def test_decode_and_dead_letters(producer: StreamProducer, seeded: Seeded, refusals: Refusals) -> None:
    key, value, headers = encode(VectorRecord.of(1, [1.0, 2.0]))
    calls = st.one_of(
        call("decode key", lambda k: decode(k, value, headers), st.one_of(st.text(max_size=3), st.integers())),
        call("decode value", lambda v: decode(key, v, headers), st.one_of(st.text(max_size=3), st.integers())),
        call(
            "decode headers",
            lambda h: decode(key, value, h),
            st.one_of(st.integers(), st.lists(st.integers(), min_size=1, max_size=2)),
        ),
        call("decode junk value", lambda v: decode(key, v, headers), st.binary(max_size=30)),
        call("DeadLetters topic", lambda t: DeadLetters(producer, seeded.tried(t)), bad.bad_topic),
        call("DeadLetters producer", lambda p: DeadLetters(p, seeded.topic), bad.not_none(bad.OTHER_TYPES)),
    )
    run_examples(calls, refusals, seeded)
