"""Fixtures for the Kafka suite: topics and groups unique per test and worker, deleted at teardown."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from testservices.state import Endpoint
from vectorstack.config import KafkaConfig
from vectorstack.streaming import StreamConsumer, TopicAdmin

from ..waiting import eventually

T = TypeVar("T")


@pytest.fixture(scope="session")
def kafka_config(kafka_service: Endpoint) -> KafkaConfig:
    return KafkaConfig.from_env(kafka_service.env)


@pytest.fixture(scope="session")
def admin(kafka_config: KafkaConfig) -> TopicAdmin:
    return TopicAdmin(kafka_config)


@pytest.fixture
def make_topic(
    admin: TopicAdmin, unique_name: Callable[[str], str], cleanup: Callable[..., None]
) -> Callable[..., str]:
    def make(partitions: int = 1, **config: str) -> str:
        name = unique_name("topic")
        cleanup(admin.delete_topic, name)
        admin.create_topic(name, partitions=partitions, config={k.replace("_", "."): v for k, v in config.items()})
        return name

    return make


@pytest.fixture
def topic(make_topic: Callable[..., str]) -> str:
    return make_topic()


@pytest.fixture
def group(unique_name: Callable[[str], str]) -> str:
    return unique_name("group")


@pytest.fixture
def consumers(cleanup: Callable[..., None]) -> Iterator[Callable[[StreamConsumer], StreamConsumer]]:
    """Register consumers so that each is closed (leaving its group) even when the test fails."""
    opened: list[StreamConsumer] = []

    def track(consumer: StreamConsumer) -> StreamConsumer:
        opened.append(consumer)
        return consumer

    yield track
    for consumer in opened:
        with contextlib.suppress(RuntimeError):  # closed by the test already
            consumer.close()


def drain(poll: Callable[[], list[T]], want: int, timeout: float = 30.0) -> list[T]:
    """Poll until `want` items arrived (a group join alone can take a second); fail the test, saying how
    many came, if they do not within `timeout` seconds."""
    got: list[T] = []

    def more() -> int:
        got.extend(poll())
        return len(got)

    eventually(more, f"{want} messages", timeout=timeout, interval=0, until=lambda n: n >= want)
    return got
