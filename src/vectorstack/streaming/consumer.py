"""Consuming in a group with manual commits (at-least-once), decoding, and a dead-letter topic."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from vectorstack.config import KafkaConfig
from vectorstack.errors import VectorStackError
from vectorstack.streaming.codec import DecodeError, VectorRecord, decode
from vectorstack.streaming.errors import translate
from vectorstack.streaming.producer import StreamProducer
from vectorstack.tracking import Tracker, tracked

HEADER_DLQ_REASON = "vs-dlq-reason"
HEADER_DLQ_SOURCE = "vs-dlq-source"
Rebalance = Callable[[list[tuple[str, int]]], None]


class Received(NamedTuple):
    """One message as polled. A named tuple, not a frozen dataclass: it is built for every message, and a
    frozen dataclass' __init__ costs more than the rest of the poll per message."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]  # as the client gives them; () when there are none
    timestamp_ms: int | None


@dataclass(frozen=True)
class ReceivedRecord:
    record: VectorRecord
    topic: str
    partition: int
    offset: int


@dataclass
class DeadLetters:
    """Where undecodable messages go; each keeps its bytes and gains its reason and origin as headers."""

    producer: StreamProducer
    topic: str
    sent: int = 0
    reasons: list[str] = field(default_factory=list)

    def send(self, message: Received, reason: str) -> None:
        headers = [
            *message.headers,
            (HEADER_DLQ_REASON, reason.encode()),
            (HEADER_DLQ_SOURCE, f"{message.topic}/{message.partition}/{message.offset}".encode()),
        ]
        report = self.producer.send_messages(self.topic, [(message.key, message.value or b"", headers)])
        if not report.ok:
            raise VectorStackError(f"could not dead-letter {message.topic}/{message.offset}: {report.failed}")
        self.sent += 1
        self.reasons.append(reason)


class StreamConsumer:
    def __init__(
        self,
        topics: Sequence[str],
        group: str,
        config: KafkaConfig | None = None,
        *,
        expected_dim: int | None = None,
        dead_letters: DeadLetters | None = None,
        on_assign: Rebalance | None = None,
        on_revoke: Rebalance | None = None,
        from_beginning: bool = True,
        extra: Mapping[str, str | int | float | bool] | None = None,
        tracker: Tracker | None = None,
    ) -> None:
        self.config = config or KafkaConfig.from_env()
        self.tracker = tracker
        self.expected_dim = expected_dim
        self.dead_letters = dead_letters
        self.topics = list(topics)
        settings = {
            **self.config.client_settings(),
            "group.id": group,
            "enable.auto.commit": False,  # commit only what the caller has processed: at-least-once
            "auto.offset.reset": "earliest" if from_beginning else "latest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
            "fetch.wait.max.ms": 10,
            **(extra or {}),
        }
        self._consumer = Consumer(settings)
        self._positions: dict[tuple[str, int], int] = {}
        # The last transient error a poll met while still returning messages (None after a clean poll).
        self.last_error: VectorStackError | None = None

        def assigned(_consumer: Consumer, partitions: list[TopicPartition]) -> None:
            if on_assign:
                on_assign([(p.topic, p.partition) for p in partitions])

        def revoked(_consumer: Consumer, partitions: list[TopicPartition]) -> None:
            for p in partitions:
                self._positions.pop((p.topic, p.partition), None)
            if on_revoke:
                on_revoke([(p.topic, p.partition) for p in partitions])

        self._consumer.subscribe(self.topics, on_assign=assigned, on_revoke=revoked)

    def _fail(self, error: KafkaError | BaseException, operation: str) -> VectorStackError:
        return translate(
            error, operation, address=self.config.address, timeout=self.config.timeout, topic=",".join(self.topics)
        )

    def poll(self, max_messages: int = 500, timeout: float = 1.0) -> list[Received]:
        """Raw messages: returns once `max_messages` have arrived or `timeout` s have passed, whichever is
        first (a batch fills up to the timeout: ask for 1 when each message's latency matters more than
        batching). They count as processed once returned, and `commit()` commits them. A transient error
        (a broker away) raises only when no message came with it; otherwise it is kept in `last_error`.
        The client reconnects by itself."""
        try:
            with tracked(self.tracker, "kafka", "poll"):
                messages: list[Message] = self._consumer.consume(max_messages, timeout)
        except KafkaException as exc:
            raise self._fail(exc, "poll") from exc
        if self.tracker is not None:
            self.tracker.count("kafka", "poll", len(messages))
        received: list[Received] = []
        append, make = received.append, tuple.__new__
        problem: KafkaError | None = None
        # The next position of each partition, noted once per run of its messages rather than per message
        # (a batch holds long runs of one partition), and kept only once the batch is returned.
        ends: dict[tuple[str, int], int] = {}
        run_topic: str | None = None
        run_partition = run_end = -1
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                if error.fatal():
                    raise self._fail(error, "poll")
                # A broker going away shows up as error events between messages: keep the messages around
                # them (raising here would skip past them, and a later commit would lose them).
                problem = error
                continue
            topic, partition, offset = message.topic() or "", message.partition() or 0, message.offset() or 0
            if partition != run_partition or topic != run_topic:
                if run_topic is not None:
                    ends[(run_topic, run_partition)] = run_end
                run_topic, run_partition = topic, partition
            run_end = offset + 1
            kind, stamp = message.timestamp()
            # tuple.__new__ rather than Received(...), whose generated __new__ is one more Python call per
            # message, and the client's own headers list (or a shared empty tuple), not a copy: per message
            # this loop then costs about a third of what it did (benchmarks: kafka consume).
            fields = (
                topic,
                partition,
                offset,
                message.key(),
                message.value(),
                message.headers() or (),
                stamp if kind else None,
            )
            append(make(Received, fields))
        if run_topic is not None:
            ends[(run_topic, run_partition)] = run_end
        self._positions.update(ends)
        self.last_error = None if problem is None else self._fail(problem, "poll")
        if self.last_error is not None and not received:
            raise self.last_error
        return received

    def poll_records(self, max_messages: int = 500, timeout: float = 1.0) -> list[ReceivedRecord]:
        """Decoded vector records; a message that is not one goes to the dead-letter topic with its reason
        (or, without one, raises DecodeError) and never reaches the caller."""
        records = []
        for message in self.poll(max_messages, timeout):
            try:
                record = decode(
                    message.key, message.value, message.headers, message.timestamp_ms, expected_dim=self.expected_dim
                )
            except DecodeError as exc:
                if self.dead_letters is None:
                    raise
                self.dead_letters.send(message, str(exc))
                continue
            records.append(ReceivedRecord(record, message.topic, message.partition, message.offset))
        return records

    def commit(self) -> None:
        """Commit everything returned so far, synchronously: after this, a restart resumes past it."""
        if not self._positions:
            return
        offsets = [TopicPartition(t, p, o) for (t, p), o in self._positions.items()]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            raise self._fail(exc, "commit") from exc

    def assignment(self) -> list[tuple[str, int]]:
        return sorted((p.topic, p.partition) for p in self._consumer.assignment())

    def close(self) -> None:
        """Leave the group (its partitions move to the others at once); uncommitted work is redelivered."""
        self._consumer.close()

    def __enter__(self) -> StreamConsumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
