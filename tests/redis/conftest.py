"""Fixtures for the Redis suite, composed on the harness's `redis_service` and `unique_name`.

Every test gets its own namespace (key prefix) on the one server all xdist workers share; teardown deletes
that prefix's keys with SCAN + UNLINK and fails the test if any survive. Nothing here flushes a database.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

import pytest

from vectorstack.cache import EventBus, KeyValueStore, MetricsStore, RedisCache, SessionStore, VectorCache
from vectorstack.config import RedisConfig


class RedisService(Protocol):
    """What the suite needs from the harness's `redis_service` fixture."""

    @property
    def env(self) -> Mapping[str, str]: ...

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...


UniqueName = Callable[..., str]


@pytest.fixture(scope="session")
def redis_config(redis_service: RedisService) -> RedisConfig:
    """Configured exactly as an application would be: from the variables the harness exports."""
    return RedisConfig.from_env(redis_service.env)


def _no_keys_left(cache: RedisCache) -> None:
    cache.clear()
    leftover = list(cache.client.scan_iter(match=cache.space.pattern(), count=500))
    assert leftover == [], f"keys left behind under {cache.space.prefix!r}: {leftover[:5]}"


@pytest.fixture
def cache(redis_config: RedisConfig, unique_name: UniqueName) -> Iterator[RedisCache]:
    """A namespace of its own on the shared server: the test never sees or deletes another's keys."""
    with RedisCache(redis_config, namespace=unique_name("ns")) as own:
        try:
            yield own
        finally:
            _no_keys_left(own)


@pytest.fixture
def make_cache(redis_config: RedisConfig, unique_name: UniqueName) -> Iterator[Callable[..., RedisCache]]:
    """More caches (own pools, own namespaces, or options such as a small max_value_bytes); all are
    emptied and closed at teardown."""
    made: list[RedisCache] = []

    def make(config: RedisConfig | None = None, **options: object) -> RedisCache:
        namespace = str(options.pop("namespace", None) or unique_name("ns"))
        made.append(RedisCache(config or redis_config, namespace=namespace, **options))  # type: ignore[arg-type]
        return made[-1]

    yield make
    try:
        for own in made:
            _no_keys_left(own)
    finally:
        for own in made:
            own.close()


@pytest.fixture
def vectors(cache: RedisCache) -> VectorCache:
    return cache.vectors


@pytest.fixture
def kv(cache: RedisCache) -> KeyValueStore:
    return cache.kv


@pytest.fixture
def events(cache: RedisCache) -> EventBus:
    return cache.events


@pytest.fixture
def sessions(cache: RedisCache) -> SessionStore:
    return cache.sessions


@pytest.fixture
def metrics_store(cache: RedisCache) -> MetricsStore:
    return cache.metrics


@pytest.fixture
def closed_port() -> int:
    """A 127.0.0.1 port with nothing listening (taken from the OS, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A 127.0.0.1 port that accepts connections and never answers: a hung server, not a stopped one."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)  # the kernel completes the handshakes; nobody ever reads or writes
        yield int(listener.getsockname()[1])
