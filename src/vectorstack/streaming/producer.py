"""Producing: batched, compressed, idempotent by default, with every delivery reported back."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from vectorstack.config import KafkaConfig
from vectorstack.errors import (
    InvalidInputError,
    ServiceUnavailableError,
    UnknownTopicError,
    ValueTooLargeError,
    VectorStackError,
)
from vectorstack.streaming import checks
from vectorstack.streaming.checks import Headers, OutMessage
from vectorstack.streaming.codec import VectorRecord, encode
from vectorstack.streaming.errors import BrokerWatch, translate
from vectorstack.tracking import Tracker, tracked

DEFAULT_MAX_MESSAGE_BYTES = 1_000_000  # Kafka's own default for a topic
COMPRESSIONS = ("none", "gzip", "snappy", "lz4", "zstd")
MAX_LINGER_MS = 900_000  # librdkafka's range for linger.ms
MESSAGE_OVERHEAD = 64 * 1024
MAX_MESSAGE_BYTES = 1_000_000_000 - MESSAGE_OVERHEAD  # librdkafka's message.max.bytes is at most 10^9
FLUSH_SLICE_S = 0.25


@dataclass
class DeliveryReport:
    """What the broker confirmed: counts, and for each failed message its position and the reason."""

    delivered: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    partitions: dict[int, int] = field(default_factory=dict)  # partition -> messages delivered there

    @property
    def ok(self) -> bool:
        return not self.failed


class StreamProducer:
    def __init__(
        self,
        config: KafkaConfig | None = None,
        *,
        compression: str = "zstd",
        idempotence: bool = True,
        linger_ms: int = 5,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        delivery_timeout: float | None = None,
        extra: Mapping[str, str | int | float | bool] | None = None,
        tracker: Tracker | None = None,
    ) -> None:
        """Every argument is checked against librdkafka's ranges here, so a bad one is refused with the
        rule instead of librdkafka's raw KafkaException (or a size message with a negative limit)."""
        if not isinstance(compression, str) or compression not in COMPRESSIONS:
            raise InvalidInputError(f"compression {compression!r} is not one of {', '.join(COMPRESSIONS)}")
        self.config = checks.kafka_config(config)
        checks.flag(idempotence, "idempotence")
        checks.whole(linger_ms, "linger_ms", 0, MAX_LINGER_MS)
        self.max_message_bytes = checks.whole(max_message_bytes, "max_message_bytes", 1, MAX_MESSAGE_BYTES)
        delivery_s = self.config.timeout * 3 if delivery_timeout is None else delivery_timeout
        checks.seconds(delivery_s, "delivery_timeout")
        added = checks.extra_settings(extra)
        self.tracker = checks.tracker_of(tracker)
        self._watch = BrokerWatch()
        self.settings: dict[str, str | int | float | bool] = {
            **self.config.client_settings(),
            "enable.idempotence": idempotence,
            "compression.type": compression,
            "linger.ms": linger_ms,
            # librdkafka counts protocol overhead in message.max.bytes: leave room above the payload limit.
            "message.max.bytes": max_message_bytes + MESSAGE_OVERHEAD,
            "delivery.timeout.ms": max(int(delivery_s * 1000), 1),
            **added,
        }
        try:
            self._producer = Producer({**self.settings, "error_cb": self._watch.on_error})
        except KafkaException as exc:
            raise translate(exc, "create producer", address=self.config.address, timeout=self.config.timeout) from exc
        self._known_topics: set[str] = set()

    def _check_topic(self, topic: str) -> None:
        """Fail fast on a missing topic (or an unreachable broker) instead of after the delivery timeout."""
        checks.topic_name(topic)
        if topic in self._known_topics:
            return
        try:
            metadata = self._producer.list_topics(timeout=self.config.timeout)
        except KafkaException as exc:
            raise self._produce_error(exc, topic) from exc
        if topic not in metadata.topics or metadata.topics[topic].error is not None:
            raise UnknownTopicError(topic)
        self._known_topics.add(topic)

    def send_messages(
        self, topic: str, messages: Iterable[OutMessage], *, timestamps: Iterable[int | None] = ()
    ) -> DeliveryReport:
        """Send and wait for every delivery report; nothing is lost silently. A message is (key, value,
        headers): key and value bytes or None (a None value is a tombstone, which deletes the key from a
        compacted topic), headers a list of (str, bytes) or None. The whole batch is checked before the first
        message is queued. Brokers unreachable for the configured timeout end the wait: the messages not
        sent yet are withdrawn and reported failed, and when none was delivered ServiceUnavailableError is
        raised (nothing was written, so the same call may simply be repeated)."""
        with tracked(self.tracker, "kafka", "produce"):
            report = self._send(topic, messages, timestamps=timestamps)
        if self.tracker is not None:
            self.tracker.count("kafka", "produce", report.delivered)
        return report

    def _send(
        self, topic: str, messages: Iterable[OutMessage], *, timestamps: Iterable[int | None] = ()
    ) -> DeliveryReport:
        checks.topic_name(topic)
        batch = checks.out_messages(messages)
        stamps = iter(checks.timestamp_list(timestamps, len(batch)))
        limit = self.max_message_bytes
        for position, (key, value, headers) in enumerate(batch):
            size = (len(value) if value else 0) + (len(key) if key else 0)
            if headers:
                size += sum(len(k) + (len(v) if v else 0) for k, v in headers)
            if size > limit:
                raise ValueTooLargeError(
                    f"message {position} for {topic!r}",
                    size,
                    limit,
                    "raise max_message_bytes here and the topic's max.message.bytes",
                )
        self._check_topic(topic)
        keys: list[bytes | None] = []  # to name the position of a failed message afterwards
        failures: list[tuple[bytes | None, str]] = []
        delivered_to: list[int | None] = []  # the partition of each delivered message
        produce: Callable[..., None] = self._producer.produce
        remember, delivered = keys.append, delivered_to.append

        # One callback for the whole call (not a closure per message): at 100,000 messages the per-message
        # closures and their bookkeeping cost more than librdkafka's own work.
        def on_delivery(error: KafkaError | None, message: Message) -> None:
            if error is None:
                delivered(message.partition())
            else:
                failures.append((message.key(), error.str()))

        for key, value, headers in batch:
            timestamp = next(stamps, None)
            remember(key)
            try:
                # Only the arguments in use: each keyword the client parses costs, at 200 B messages, as much
                # as a tenth of the call.
                if headers is None and timestamp is None:
                    produce(topic, value, key, on_delivery=on_delivery)
                else:
                    produce(topic, value, key, headers=headers, on_delivery=on_delivery, timestamp=timestamp or 0)
            except BufferError:
                self._produce_when_there_is_room(topic, value, key, headers, on_delivery, timestamp or 0)
            except KafkaException as exc:
                raise self._produce_error(exc, topic) from exc
        outage = self._wait_for_reports()
        partitions = {partition or 0: count for partition, count in Counter(delivered_to).items()}
        report = DeliveryReport(len(delivered_to), self._positions_of(failures, keys), partitions)
        missing = len(keys) - report.delivered - len(report.failed)
        if missing:
            report.failed.append((-1, f"{missing} messages got no delivery report in time"))
        report.failed.sort()
        if outage is not None and not report.delivered:
            raise outage
        return report

    def _wait_for_reports(self) -> ServiceUnavailableError | None:
        """Wait (up to the delivery timeout) for every queued message's report. When the brokers are
        unreachable for the configured timeout, withdraw what is still queued (its reports then say
        purged) and return the outage instead of waiting out the delivery timeout."""
        deadline = time.monotonic() + self.config.timeout * 3 + 5
        while len(self._producer) and time.monotonic() < deadline:
            self._producer.flush(min(FLUSH_SLICE_S, max(deadline - time.monotonic(), 0.0)))
            outage = self._outage()
            if outage is not None:
                self._producer.purge(in_queue=True, in_flight=False)
                self._producer.flush(min(1.0, self.config.timeout))  # serve the purged messages' reports
                return outage
        return None

    def _outage(self) -> ServiceUnavailableError | None:
        """The error events say the brokers have been away for the timeout: confirm with one metadata
        request (librdkafka reports no reconnection) and return the error, or None if they answer."""
        if not self._watch.overdue(self.config.timeout):
            return None
        try:
            self._producer.list_topics(timeout=min(1.0, self.config.timeout))
        except KafkaException as exc:
            error = self._produce_error(exc, "")
            if isinstance(error, ServiceUnavailableError):
                error.__cause__ = exc
                return error
            raise error from exc
        self._watch.reached()
        return None

    def _produce_when_there_is_room(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        headers: Headers | None,
        on_delivery: Callable[[KafkaError | None, Message], None],
        timestamp: int,
    ) -> None:
        """The local queue is full: let deliveries drain, then try again until the message is queued (or
        the brokers are found unreachable, when the queue never drains)."""
        while True:
            self._producer.poll(0.05)
            try:
                self._producer.produce(
                    topic, value, key, headers=cast(Any, headers), on_delivery=on_delivery, timestamp=timestamp
                )
                return
            except BufferError:
                outage = self._outage()
                if outage is not None:
                    self._producer.purge(in_queue=True, in_flight=False)
                    raise outage from outage.__cause__
                continue
            except KafkaException as exc:
                raise self._produce_error(exc, topic) from exc

    def _produce_error(self, exc: KafkaException, topic: str) -> VectorStackError:
        return translate(
            exc,
            "produce",
            address=self.config.address,
            timeout=self.config.timeout,
            topic=topic,
            limit=self.max_message_bytes,
        )

    @staticmethod
    def _positions_of(failures: list[tuple[bytes | None, str]], keys: list[bytes | None]) -> list[tuple[int, str]]:
        """Failed messages by position: the n-th failure of a key is that key's n-th message."""
        if not failures:
            return []
        by_key: dict[bytes | None, list[int]] = {}
        for position, key in enumerate(keys):
            by_key.setdefault(key, []).append(position)
        found = []
        for key, reason in failures:
            positions = by_key.get(key) or [-1]
            found.append((positions.pop(0) if len(positions) > 1 else positions[0], reason))
        return found

    def send_records(self, topic: str, records: Iterable[VectorRecord]) -> DeliveryReport:
        """Encode and send; every record is checked (encode) before the first message is queued."""
        if isinstance(records, str | bytes) or not hasattr(records, "__iter__"):  # type: ignore[unreachable]
            raise InvalidInputError(f"records must be an iterable of VectorRecord, got {records!r}")
        batch = list(records)
        for position, record in enumerate(batch):
            if not isinstance(record, VectorRecord):
                raise InvalidInputError(f"record {position} is not a VectorRecord (build one with VectorRecord.of)")
        encoded = (encode(record) for record in batch)
        return self.send_messages(topic, encoded, timestamps=(r.timestamp_ms for r in batch))

    def flush(self, timeout: float | None = None) -> int:
        """Wait for outstanding deliveries; returns how many are still queued. Brokers unreachable for the
        configured timeout raise ServiceUnavailableError (the messages stay queued and go out once the
        brokers are back, if within their delivery timeout)."""
        wait = self.config.timeout * 3 + 5 if timeout is None else checks.seconds(timeout, "timeout", zero_ok=True)
        deadline = time.monotonic() + wait
        remaining = len(self._producer)
        while remaining and time.monotonic() < deadline:
            remaining = self._producer.flush(min(FLUSH_SLICE_S, max(deadline - time.monotonic(), 0.0)))
            outage = self._outage() if remaining else None
            if outage is not None:
                raise outage from outage.__cause__
        return remaining

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> StreamProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
