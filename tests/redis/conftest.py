"""Fixtures for the Redis suite: one cache per test in its own namespace, emptied at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from testservices.state import Endpoint
from vectorstack.cache import RedisCache
from vectorstack.config import RedisConfig


@pytest.fixture(scope="session")
def redis_config(redis_service: Endpoint) -> RedisConfig:
    return RedisConfig.from_env(redis_service.env)


@pytest.fixture
def cache(redis_config: RedisConfig, unique_name: Callable[[str], str]) -> Iterator[RedisCache]:
    """A namespace of its own on the shared server: the test never sees or deletes another's keys."""
    with RedisCache(redis_config, namespace=unique_name("ns")) as own:
        yield own
        own.clear()
        leftover = list(own.client.scan_iter(match=own.space.prefix + "*"))
        assert leftover == [], f"keys left behind: {leftover[:5]}"


def eventually(check: Callable[[], bool], timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll instead of sleeping a fixed time: fast on a quick machine, patient on a slow one."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()
