"""Topics: create, list, describe, grow, delete; and how far a consumer group lags behind.

Names, counts and settings are checked before a request is made (Kafka's own rules, stated in the
message); a broker that does not answer within the configured timeout is ServiceUnavailableError, also
where librdkafka's futures would raise a bare TimeoutError.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic  # type: ignore[attr-defined]

from vectorstack.config import KafkaConfig
from vectorstack.errors import AlreadyExistsError, InvalidInputError, ServiceUnavailableError, UnknownTopicError
from vectorstack.streaming import checks
from vectorstack.streaming.errors import HINT, translate


class TopicAdmin:
    def __init__(self, config: KafkaConfig | None = None) -> None:
        self.config = checks.kafka_config(config)
        try:
            self._admin = AdminClient(dict(self.config.client_settings()))
        except KafkaException as exc:
            raise self._fail(exc, "create admin client") from exc
        # One probe consumer per group for consumer_lag, kept: a new one per call (connect, find the
        # coordinator, close) took ~150 ms, and the ingest worker asks every 2 s. Probes never subscribe,
        # so they never join the group they read.
        self._probes: dict[str, Consumer] = {}
        self._probe_lock = threading.Lock()

    def _fail(self, exc: BaseException, operation: str, topic: str | None = None) -> Exception:
        return translate(exc, operation, address=self.config.address, timeout=self.config.timeout, topic=topic)

    def _wait(self, future: concurrent.futures.Future[Any], operation: str, topic: str) -> None:
        """The result of an admin request: its KafkaException translated, and no answer within the timeout
        reported as the broker being unreachable (the request may still complete later)."""
        try:
            future.result(timeout=self.config.timeout)
        except concurrent.futures.TimeoutError as exc:
            raise ServiceUnavailableError(
                "kafka",
                self.config.address,
                self.config.timeout,
                f"no answer to {operation} {topic!r} (it may still complete)",
                HINT,
            ) from exc

    def list_topics(self, *, internal: bool = False) -> list[str]:
        checks.flag(internal, "internal")
        try:
            metadata = self._admin.list_topics(timeout=self.config.timeout)
        except KafkaException as exc:
            raise self._fail(exc, "list_topics") from exc
        return sorted(t for t in metadata.topics if internal or not t.startswith("__"))

    def partitions(self, topic: str) -> int:
        checks.topic_name(topic)
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
        checks.topic_name(topic)
        checks.whole(partitions, "partitions", 1)
        checks.flag(exist_ok, "exist_ok")
        settings = topic_settings(config)
        future = self._admin.create_topics(
            [NewTopic(topic, num_partitions=partitions, replication_factor=1, config=settings)],
            operation_timeout=self.config.timeout,
            request_timeout=self.config.timeout,
        )[topic]
        try:
            self._wait(future, "create_topic", topic)
        except KafkaException as exc:
            error = self._fail(exc, "create_topic", topic)
            if exist_ok and isinstance(error, AlreadyExistsError):  # KafkaError.TOPIC_ALREADY_EXISTS
                return False
            raise error from exc
        return True

    def add_partitions(self, topic: str, total: int) -> None:
        """Grow the topic to `total` partitions (Kafka cannot shrink one)."""
        checks.topic_name(topic)
        checks.whole(total, "total", 1)
        future = self._admin.create_partitions([NewPartitions(topic, total)], request_timeout=self.config.timeout)[
            topic
        ]
        try:
            self._wait(future, "add_partitions", topic)
        except KafkaException as exc:
            raise self._fail(exc, "add_partitions", topic) from exc

    def delete_topic(self, topic: str, *, missing_ok: bool = True) -> None:
        checks.topic_name(topic)
        checks.flag(missing_ok, "missing_ok")
        future = self._admin.delete_topics([topic], operation_timeout=self.config.timeout)[topic]
        try:
            self._wait(future, "delete_topic", topic)
        except KafkaException as exc:
            error = self._fail(exc, "delete_topic", topic)
            if missing_ok and isinstance(error, UnknownTopicError):
                return
            raise error from exc

    def consumer_lag(self, group: str, topic: str) -> dict[int, int]:
        """Per partition: messages in the topic that the group has not committed yet."""
        checks.group_id(group)  # an empty one would abort the process in the probe consumer's constructor
        count = self.partitions(topic)
        with self._probe_lock:
            probe = self._probes.get(group)
            if probe is None:
                settings = {**self.config.client_settings(), "group.id": group, "enable.auto.commit": False}
                try:
                    probe = Consumer(settings)
                except KafkaException as exc:
                    raise self._fail(exc, "consumer_lag", topic) from exc
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


def topic_settings(config: object) -> dict[str, str]:
    """A new topic's settings (e.g. {"cleanup.policy": "compact"}): names and values as strings, as Kafka
    takes them; the broker judges the values themselves."""
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise InvalidInputError(f"topic config must be a mapping of setting names to str values, got {config!r}")
    for name, value in config.items():
        if not isinstance(name, str) or not name or not isinstance(value, str):
            raise InvalidInputError(
                f"topic setting {name!r}={value!r}: names and values are strings, e.g. {{'retention.ms': '60000'}}"
            )
    return dict(config)
