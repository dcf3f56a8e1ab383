"""Sessions with expiry, metrics storage, and namespace isolation."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from vectorstack.cache import MetricsStore, RedisCache, SessionStore
from vectorstack.errors import CorruptValueError, InvalidInputError

from ..waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.redis]


def test_session_lifecycle(sessions: SessionStore) -> None:
    sid = sessions.create({"user": "ada", "roles": ["admin"]})
    assert len(sid) >= 32
    assert sessions.get(sid) == {"user": "ada", "roles": ["admin"]}
    assert sessions.update(sid, {"user": "ada", "roles": []})
    assert sessions.get(sid) == {"user": "ada", "roles": []}
    left = sessions.ttl(sid)
    assert left is not None
    assert 1700 < left <= 1800, "the store's default ttl"
    assert sessions.destroy(sid)
    assert not sessions.destroy(sid)
    assert sessions.get(sid) is None
    assert sessions.ttl(sid) is None
    assert not sessions.update(sid, {"user": "ghost"}), "an ended session is not brought back"
    assert sessions.get(sid) is None
    assert not sessions.touch(sid)
    assert sessions.create({}) != sessions.create({}), "ids are random"


def test_session_expires_unless_touched(sessions: SessionStore) -> None:
    short = sessions.create({"n": 1}, ttl=1)
    kept = sessions.create({"n": 2}, ttl=3)
    assert sessions.touch(kept, ttl=120)
    eventually(lambda: sessions.get(short) is None, "the 1 s session to expire")
    assert sessions.get(kept) == {"n": 2}
    left = sessions.ttl(kept)
    assert left is not None
    assert left > 60


def test_update_and_touch_extend_by_the_sessions_own_ttl(sessions: SessionStore) -> None:
    sid = sessions.create({"v": 1}, ttl=60)
    assert sessions.touch(sid, ttl=600)
    assert sessions.update(sid, {"v": 2})  # back to the session's own 60 s, not the store's 1800 s
    left = sessions.ttl(sid)
    assert left is not None
    assert 0 < left <= 60
    assert sessions.get(sid, touch=True) == {"v": 2}
    brief = sessions.create({"v": 3}, ttl=1)
    assert sessions.update(brief, {"v": 4})
    # Within the wait, not after the store's 1800 s: the update restarted the session's own 1 s expiry.
    eventually(lambda: sessions.get(brief) is None, "the updated 1 s session to expire", timeout=15)


def test_bad_session_input(cache: RedisCache) -> None:
    with pytest.raises(InvalidInputError, match="JSON"):
        cache.sessions.create({"when": time})
    with pytest.raises(InvalidInputError, match="mapping"):
        cache.sessions.create(["not", "a", "mapping"])  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="ttl"):
        cache.sessions.create({}, ttl=0)
    with pytest.raises(InvalidInputError, match="ttl"):
        cache.sessions.touch("whatever", ttl=-5)
    with pytest.raises(InvalidInputError, match="non-empty"):
        cache.sessions.get("")
    sid = cache.sessions.create({"ok": True})
    with pytest.raises(InvalidInputError, match="JSON"):
        cache.sessions.update(sid, {"bad": object()})
    assert cache.sessions.get(sid) == {"ok": True}, "a refused update leaves the session as it was"
    cache.client.hset(cache.space.key("session", sid), "data", "{truncated")
    with pytest.raises(CorruptValueError, match="not a JSON object"):
        cache.sessions.get(sid)


def test_metrics_counters_and_gauges(metrics_store: MetricsStore) -> None:
    assert metrics_store.incr("requests", labels={"op": "search"}) == 1
    assert metrics_store.incr("requests", 2, labels={"op": "search"}) == 3
    metrics_store.incr("requests", labels={"op": "insert"})
    metrics_store.incr("requests", 0.5)
    assert metrics_store.counter("requests", labels={"op": "search"}) == 3
    assert metrics_store.counter("requests") == 0.5
    assert metrics_store.counter("never") == 0
    # A label value holding the separators still names its own series.
    metrics_store.incr("requests", labels={"op": 'a,b="c"}'})
    assert metrics_store.counter("requests", labels={"op": "a"}) == 0
    assert len(metrics_store.counters()) == 4
    metrics_store.set_gauge("queue_depth", 12.5)
    metrics_store.set_gauge("queue_depth", -3)
    assert metrics_store.gauge("queue_depth") == -3
    assert metrics_store.gauge("unknown") is None
    assert metrics_store.gauges() == {"queue_depth": -3.0}
    with pytest.raises(InvalidInputError, match="cannot decrease"):
        metrics_store.incr("requests", -1)
    with pytest.raises(InvalidInputError, match="metric name"):
        metrics_store.incr("bad name")
    with pytest.raises(InvalidInputError, match="finite"):
        metrics_store.set_gauge("g", float("nan"))
    assert metrics_store.counter("requests") == 0.5, "refused increments changed nothing"


def test_metrics_time_series_range_and_retention(cache: RedisCache) -> None:
    metrics = cache.metrics
    now = time.time()
    for i in range(5):
        metrics.record("latency_ms", float(i), at=now - 10 + i)
    metrics.record("latency_ms", 7.0, at=now - 9, labels={"op": "search"})
    assert [v for _, v in metrics.series("latency_ms")] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert [v for _, v in metrics.series("latency_ms", since=now - 7.5)] == [3.0, 4.0]
    assert [v for _, v in metrics.series("latency_ms", since=now - 9, until=now - 8)] == [1.0, 2.0]
    assert [t for t, _ in metrics.series("latency_ms")] == [now - 10 + i for i in range(5)]
    assert metrics.series("latency_ms", labels={"op": "search"}) == [(now - 9, 7.0)]
    metrics.record("latency_ms", 4.0, at=now - 6)  # same value twice is two samples
    assert len(metrics.series("latency_ms")) == 6
    metrics.retention = 5
    metrics.record("latency_ms", 99.0, at=now)
    assert [v for _, v in metrics.series("latency_ms")] == [99.0], "samples past the retention are trimmed"
    series_ttl = cache.client.pttl(cache.space.key("metrics", "series", "latency_ms"))
    assert isinstance(series_ttl, int)
    assert 0 < series_ttl <= 5000, "an idle series expires as a whole"
    with pytest.raises(InvalidInputError, match="retention"):
        metrics.retention = 0
    with pytest.raises(InvalidInputError, match="sample time"):
        metrics.record("latency_ms", 1.0, at=float("inf"))
    with pytest.raises(InvalidInputError, match="must be a finite number"):
        metrics.record("latency_ms", "fast")  # type: ignore[arg-type]


def test_namespaces_are_isolated_and_clear_only_their_own(
    cache: RedisCache, make_cache: Callable[..., RedisCache]
) -> None:
    # A sibling whose prefix starts with ours: a naive prefix match would delete its keys too.
    neighbour = make_cache(namespace=cache.space.prefix.rstrip(":") + "_neighbour")
    neighbour.kv.set("k", "theirs")
    cache.kv.set("k", "mine")
    cache.sessions.create({"a": 1})
    assert cache.kv.get_text("k") == "mine"
    assert cache.clear() == 2
    assert cache.kv.get("k") is None
    assert neighbour.kv.get_text("k") == "theirs"


def test_a_namespace_with_glob_characters_clears_only_itself(
    cache: RedisCache, make_cache: Callable[..., RedisCache]
) -> None:
    base = cache.space.prefix.rstrip(":")
    starry = make_cache(namespace=base + "*")
    other = make_cache(namespace=base + "xyz")
    starry.kv.set("k", "1")
    other.kv.set("k", "2")
    assert starry.clear() == 1, "'*' in the prefix is matched literally"
    assert other.kv.get_text("k") == "2"
    with pytest.raises(InvalidInputError, match="namespace prefix"):
        make_cache(namespace=":")
