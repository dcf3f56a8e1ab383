"""Consuming in a group with manual commits (at-least-once), decoding, and a dead-letter topic.

Two promises beyond librdkafka's: a record that fails to decode is either dead-lettered or handed to the
caller (with the good records of its batch) inside `DecodeError`, so offsets never move past a record the
caller did not get; and a broker nobody can reach is reported as `ServiceUnavailableError` once the
configured timeout has passed, where librdkafka alone would return empty polls forever.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from vectorstack.config import KafkaConfig
from vectorstack.errors import InvalidInputError, VectorStackError
from vectorstack.streaming import checks
from vectorstack.streaming.codec import DecodeError, ReceivedRecord, Undecodable, decode
from vectorstack.streaming.deadletters import HEADER_DLQ_REASON, HEADER_DLQ_SOURCE, DeadLetters
from vectorstack.streaming.errors import BrokerWatch, translate
from vectorstack.tracking import Tracker, tracked

__all__ = ["HEADER_DLQ_REASON", "HEADER_DLQ_SOURCE", "DeadLetters", "Received", "ReceivedRecord", "StreamConsumer"]

Rebalance = Callable[[list[tuple[str, int]]], None]
# A poll waits in slices of at most this long, so that an outage is reported once the configured timeout
# has passed even inside a long poll (each slice is one librdkafka call: nothing measurable per batch).
POLL_SLICE_S = 0.25
MAX_POLL_MESSAGES = 1_000_000  # confluent-kafka's own limit for one consume call


class Received(NamedTuple):
    """One message as polled. A named tuple, not a frozen dataclass: it is built for every message, and a
    frozen dataclass' __init__ costs more than the rest of the poll per message."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None  # None: a tombstone
    headers: Sequence[tuple[str, bytes]]  # as the client gives them; () when there are none
    timestamp_ms: int | None


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
        """Every argument is checked before a client exists: librdkafka aborts the whole process on an
        empty group id (a C assertion) and raises its raw KafkaException on an empty subscription."""
        self.topics = checks.topic_list(topics)
        self.group = checks.group_id(group)
        self.config = checks.kafka_config(config)
        self.expected_dim = checks.optional_whole(expected_dim, "expected_dim", 1)
        if dead_letters is not None and not isinstance(dead_letters, DeadLetters):
            raise InvalidInputError(f"dead_letters must be a DeadLetters or None, got {dead_letters!r}")
        self.dead_letters = dead_letters
        checks.callback(on_assign, "on_assign")
        checks.callback(on_revoke, "on_revoke")
        checks.flag(from_beginning, "from_beginning")
        added = checks.extra_settings(extra, checks.MANAGED_CONSUMER_SETTINGS)
        self.tracker = checks.tracker_of(tracker)
        self._watch = BrokerWatch()
        settings: dict[str, Any] = {
            **self.config.client_settings(),
            "group.id": self.group,
            "enable.auto.commit": False,  # commit only what the caller has processed: at-least-once
            "auto.offset.reset": "earliest" if from_beginning else "latest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
            "fetch.wait.max.ms": 10,
            **added,
            "error_cb": self._watch.on_error,
        }
        try:
            self._consumer = Consumer(settings)
        except KafkaException as exc:
            raise self._fail(exc, "create consumer") from exc
        self._closed = False
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

        try:
            self._consumer.subscribe(self.topics, on_assign=assigned, on_revoke=revoked)
        except KafkaException as exc:
            self._consumer.close()
            raise self._fail(exc, "subscribe") from exc

    def _fail(self, error: KafkaError | BaseException, operation: str) -> VectorStackError:
        return translate(
            error, operation, address=self.config.address, timeout=self.config.timeout, topic=",".join(self.topics)
        )

    def _open(self) -> Consumer:
        if self._closed:
            raise InvalidInputError("this consumer is closed (it left its group); create a new StreamConsumer")
        return self._consumer

    def _consume(self, max_messages: int, timeout: float) -> list[Message]:
        """Up to `max_messages` within `timeout` s, waiting in slices; raises ServiceUnavailableError when
        nothing came and the brokers have been unreachable (by librdkafka's error events) for the configured
        timeout and a metadata request confirms it."""
        consumer = self._open()
        deadline = time.monotonic() + timeout
        got: list[Message] = []
        with tracked(self.tracker, "kafka", "poll"):
            while True:
                remaining = deadline - time.monotonic()
                try:
                    batch: list[Message] = consumer.consume(
                        max_messages - len(got), max(min(remaining, POLL_SLICE_S), 0.0)
                    )
                except KafkaException as exc:
                    raise self._fail(exc, "poll") from exc
                if batch:
                    got.extend(batch)
                    if batch[-1].error() is None or any(m.error() is None for m in batch):
                        self._watch.reached()  # a message came: the broker answers
                if len(got) >= max_messages or remaining <= POLL_SLICE_S:
                    return got
                if not got and self._watch.overdue(self.config.timeout):
                    self._confirm_reachable(consumer)

    def _confirm_reachable(self, consumer: Consumer) -> None:
        """The error events say the brokers are away: ask once (librdkafka has no 'connected again' event)."""
        try:
            consumer.list_topics(timeout=min(1.0, self.config.timeout))
        except KafkaException as exc:
            error = self._fail(exc, "poll")
            raise error from exc
        self._watch.reached()

    def poll(self, max_messages: int = 500, timeout: float = 1.0) -> list[Received]:
        """Raw messages: returns once `max_messages` have arrived or `timeout` s have passed, whichever is
        first (a batch fills up to the timeout: ask for 1 when each message's latency matters more than
        batching). They count as processed once returned, and `commit()` commits them. A transient error
        (a broker away) raises only when no message came with it; otherwise it is kept in `last_error`.
        The client reconnects by itself; brokers unreachable for the configured timeout (KafkaConfig.timeout)
        raise ServiceUnavailableError, from a poll that has nothing else to return."""
        received, ends = self._take(max_messages, timeout)
        self._positions.update(ends)
        return received

    def _take(self, max_messages: int, timeout: float) -> tuple[list[Received], dict[tuple[str, int], int]]:
        """A poll's messages and the next position of each partition they came from, not yet noted: the
        caller notes the positions once the messages are safely handed over."""
        checks.whole(max_messages, "max_messages", 1, MAX_POLL_MESSAGES)
        checks.seconds(timeout, "timeout", zero_ok=True)
        messages = self._consume(max_messages, timeout)
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
        self.last_error = None if problem is None else self._fail(problem, "poll")
        if self.last_error is not None and not received:
            raise self.last_error
        return received, ends

    def poll_records(self, max_messages: int = 500, timeout: float = 1.0) -> list[ReceivedRecord]:
        """Decoded vector records, and no message lost to a bad neighbour. A message that is not a record
        goes to the dead-letter topic with its reason when there is one; without one, DecodeError is raised
        once the whole batch is decoded, holding the good records (`.records`, in order) and the bad
        messages whole (`.undecodable`), so the caller holds every message the positions moved past and may
        commit after handling them. If dead-lettering fails, the consumer seeks back to the start of the
        batch: nothing of it is skipped, and the next poll delivers it again."""
        messages, ends = self._take(max_messages, timeout)
        records: list[ReceivedRecord] = []
        bad: list[Undecodable] = []
        for message in messages:
            try:
                record = decode(
                    message.key, message.value, message.headers, message.timestamp_ms, expected_dim=self.expected_dim
                )
            except DecodeError as exc:
                if self.dead_letters is None:
                    bad.append(Undecodable(*message[:6], exc))
                    continue
                try:
                    self.dead_letters.send(message, str(exc))
                except VectorStackError:
                    self._rewind(messages)
                    raise
                continue
            records.append(ReceivedRecord(record, message.topic, message.partition, message.offset))
        self._positions.update(ends)
        if bad:
            places = ", ".join(f"{m.topic}/{m.partition}/{m.offset}: {m.cause}" for m in bad[:3])
            more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
            raise DecodeError(
                f"{len(bad)} of {len(messages)} messages are not vector records ({places}{more}). The batch's "
                f"{len(records)} good records are in this error's .records and the bad messages, whole, in "
                ".undecodable; handle both, then commit(). Or give the consumer dead_letters= to move such "
                "messages aside",
                records=records,
                undecodable=bad,
            ) from bad[0].cause
        return records

    def _rewind(self, messages: Sequence[Received]) -> None:
        """Seek each partition of a batch back to its first message, so the batch is delivered again."""
        first: dict[tuple[str, int], int] = {}
        for message in messages:
            first.setdefault((message.topic, message.partition), message.offset)
        for (topic, partition), offset in first.items():
            try:
                self._consumer.seek(TopicPartition(topic, partition, offset))
            except KafkaException as exc:
                # Revoked meanwhile: its new owner starts at the last commit, which is before this batch.
                if (topic, partition) in self.assignment():
                    raise self._fail(exc, "seek") from exc

    def commit(self) -> None:
        """Commit everything returned so far, synchronously: after this, a restart resumes past it."""
        consumer = self._open()
        if not self._positions:
            return
        offsets = [TopicPartition(t, p, o) for (t, p), o in self._positions.items()]
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            raise self._fail(exc, "commit") from exc

    def assignment(self) -> list[tuple[str, int]]:
        try:
            return sorted((p.topic, p.partition) for p in self._open().assignment())
        except KafkaException as exc:
            raise self._fail(exc, "assignment") from exc

    def close(self) -> None:
        """Leave the group (its partitions move to the others at once); uncommitted work is redelivered.
        Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        try:
            self._consumer.close()
        except KafkaException as exc:
            raise self._fail(exc, "close") from exc

    def __enter__(self) -> StreamConsumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
