"""Topics: create, list, describe, grow, delete; and how far a consumer group lags behind."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic  # type: ignore[attr-defined]

from vectorstack.config import KafkaConfig
from vectorstack.errors import AlreadyExistsError, InvalidInputError, UnknownTopicError
from vectorstack.streaming.errors import translate


class TopicAdmin:
    def __init__(self, config: KafkaConfig | None = None) -> None:
        self.config = config or KafkaConfig.from_env()
        self._admin = AdminClient(dict(self.config.client_settings()))
        # One probe consumer per group for consumer_lag, kept: a new one per call (connect, find the
        # coordinator, close) took ~150 ms, and the ingest worker asks every 2 s. Probes never subscribe,
        # so they never join the group they read.
        self._probes: dict[str, Consumer] = {}
        self._probe_lock = threading.Lock()

    def _fail(self, exc: BaseException, operation: str, topic: str | None = None) -> Exception:
        return translate(exc, operation, address=self.config.address, timeout=self.config.timeout, topic=topic)

    def list_topics(self, *, internal: bool = False) -> list[str]:
        try:
            metadata = self._admin.list_topics(timeout=self.config.timeout)
        except KafkaException as exc:
            raise self._fail(exc, "list_topics") from exc
        return sorted(t for t in metadata.topics if internal or not t.startswith("__"))

    def partitions(self, topic: str) -> int:
        try:
            metadata = self._admin.list_topics(timeout=self.config.timeout)
        except KafkaException as exc:
            raise self._fail(exc, "describe", topic) from exc
        found = metadata.topics.get(topic)
        if found is None or found.error is not None:
            raise UnknownTopicError(topic)
        return len(found.partitions)

    def create_topic(
        self, topic: str, *, partitions: int = 1, config: Mapping[str, str] | None = None, exist_ok: bool = False
    ) -> bool:
        """Create and wait until it is usable; False when it existed and exist_ok allowed that."""
        if not topic or len(topic) > 249:
            raise InvalidInputError(f"invalid topic name {topic!r}")
        if partitions < 1:
            raise InvalidInputError(f"a topic needs at least 1 partition, got {partitions}")
        future = self._admin.create_topics(
            [NewTopic(topic, num_partitions=partitions, replication_factor=1, config=dict(config or {}))],
            operation_timeout=self.config.timeout,
            request_timeout=self.config.timeout,
        )[topic]
        try:
            future.result(timeout=self.config.timeout)
        except KafkaException as exc:
            error = self._fail(exc, "create_topic", topic)
            if exist_ok and isinstance(error, AlreadyExistsError):  # KafkaError.TOPIC_ALREADY_EXISTS
                return False
            raise error from exc
        return True

    def add_partitions(self, topic: str, total: int) -> None:
        future = self._admin.create_partitions([NewPartitions(topic, total)], request_timeout=self.config.timeout)[
            topic
        ]
        try:
            future.result(timeout=self.config.timeout)
        except KafkaException as exc:
            raise self._fail(exc, "add_partitions", topic) from exc

    def delete_topic(self, topic: str, *, missing_ok: bool = True) -> None:
        future = self._admin.delete_topics([topic], operation_timeout=self.config.timeout)[topic]
        try:
            future.result(timeout=self.config.timeout)
        except KafkaException as exc:
            error = self._fail(exc, "delete_topic", topic)
            if missing_ok and isinstance(error, UnknownTopicError):
                return
            raise error from exc

    def consumer_lag(self, group: str, topic: str) -> dict[int, int]:
        """Per partition: messages in the topic that the group has not committed yet."""
        count = self.partitions(topic)
        with self._probe_lock:
            probe = self._probes.get(group)
            if probe is None:
                probe = Consumer({**self.config.client_settings(), "group.id": group, "enable.auto.commit": False})
                self._probes[group] = probe
            try:
                wanted = [TopicPartition(topic, p) for p in range(count)]
                committed = probe.committed(wanted, timeout=self.config.timeout)
                lag = {}
                for tp in committed:
                    low, high = probe.get_watermark_offsets(
                        TopicPartition(topic, tp.partition), timeout=self.config.timeout
                    )
                    start = tp.offset if tp.offset >= 0 else low
                    lag[tp.partition] = max(high - start, 0)
                return lag
            except KafkaException as exc:
                self._probes.pop(group).close()  # the next call starts afresh
                raise self._fail(exc, "consumer_lag", topic) from exc

    def close(self) -> None:
        with self._probe_lock:
            for probe in self._probes.values():
                probe.close()
            self._probes.clear()

    def __enter__(self) -> TopicAdmin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
