"""Sessions with expiry, metrics storage, connection errors and namespace isolation."""

from __future__ import annotations

import time

import pytest

from testservices.ports import free_port
from testservices.state import Endpoint
from vectorstack.cache import RedisCache
from vectorstack.config import RedisConfig
from vectorstack.errors import AuthenticationError, InvalidInputError, ServiceUnavailableError

from .conftest import eventually

pytestmark = [pytest.mark.integration, pytest.mark.redis]


def test_session_lifecycle(cache: RedisCache) -> None:
    sid = cache.sessions.create({"user": "ada", "roles": ["admin"]})
    assert len(sid) >= 32
    assert cache.sessions.get(sid) == {"user": "ada", "roles": ["admin"]}
    assert cache.sessions.update(sid, {"user": "ada", "roles": []})
    assert cache.sessions.get(sid) == {"user": "ada", "roles": []}
    assert cache.sessions.destroy(sid)
    assert cache.sessions.get(sid) is None
    assert not cache.sessions.update(sid, {"user": "ghost"}), "an ended session is not brought back"
    with pytest.raises(InvalidInputError, match="JSON"):
        cache.sessions.create({"when": time})


def test_session_expires_unless_touched(cache: RedisCache) -> None:
    short = cache.sessions.create({"n": 1}, ttl=0.4)
    kept = cache.sessions.create({"n": 2}, ttl=0.4)
    assert cache.sessions.touch(kept, ttl=30)
    assert eventually(lambda: cache.sessions.get(short) is None)
    assert cache.sessions.get(kept) == {"n": 2}


def test_metrics_counters_gauges_and_series(cache: RedisCache) -> None:
    metrics = cache.metrics
    assert metrics.incr("requests", labels={"op": "search"}) == 1
    assert metrics.incr("requests", 2, labels={"op": "search"}) == 3
    metrics.incr("requests", labels={"op": "insert"})
    assert metrics.counter("requests", labels={"op": "search"}) == 3
    assert metrics.counter("never") == 0
    metrics.set_gauge("queue_depth", 12.5)
    assert metrics.gauge("queue_depth") == 12.5
    now = time.time()
    for i in range(5):
        metrics.record("latency_ms", float(i), at=now - 10 + i)
    assert [v for _, v in metrics.series("latency_ms")] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert [v for _, v in metrics.series("latency_ms", since=now - 7.5)] == [3.0, 4.0]
    metrics.retention = 5
    metrics.record("latency_ms", 99.0, at=now)
    assert [v for _, v in metrics.series("latency_ms")] == [99.0], "samples past the retention are trimmed"


def test_namespaces_are_isolated_and_clear_only_their_own(cache: RedisCache) -> None:
    neighbour = RedisCache(cache.config, namespace=cache.space.prefix.rstrip(":") + "_neighbour")
    try:
        neighbour.kv.set("k", "theirs")
        cache.kv.set("k", "mine")
        assert cache.kv.get_text("k") == "mine"
        assert cache.clear() == 1
        assert neighbour.kv.get_text("k") == "theirs"
    finally:
        neighbour.clear()
        neighbour.close()


def test_config_comes_from_the_exported_variables(redis_service: Endpoint, redis_config: RedisConfig) -> None:
    assert (redis_config.host, redis_config.port) == (redis_service.host, redis_service.port)
    if redis_config.password:
        assert redis_config.password not in repr(redis_config)


def test_unreachable_server_fails_within_the_timeout() -> None:
    config = RedisConfig(host="127.0.0.1", port=free_port(), timeout=1.0, retries=1)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError, match=r"redis at 127\.0\.0\.1:\d+ unreachable after 1 s") as info:
        RedisCache(config)
    assert time.monotonic() - started < 10
    assert info.value.__cause__ is not None


def test_wrong_password_is_refused(redis_config: RedisConfig) -> None:
    if not redis_config.password:
        pytest.skip("this server has no password (REDIS_PASSWORD unset), so there is nothing to refuse")
    wrong = RedisConfig(host=redis_config.host, port=redis_config.port, password="wrong-" + redis_config.password)
    with pytest.raises(AuthenticationError, match="refused the credentials"):
        RedisCache(wrong)
    anonymous = RedisConfig(host=redis_config.host, port=redis_config.port)
    with pytest.raises(AuthenticationError):
        RedisCache(anonymous)
