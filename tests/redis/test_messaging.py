"""Pub/sub events and streams with consumer groups and acknowledgements."""

from __future__ import annotations

import pytest

from vectorstack.cache import RedisCache
from vectorstack.errors import InvalidInputError

pytestmark = [pytest.mark.integration, pytest.mark.redis]


def test_published_event_reaches_the_subscriber(cache: RedisCache) -> None:
    with cache.events.subscribe("ingest", "alerts") as subscription:
        assert cache.events.publish("ingest", {"ids": [1, 2], "ok": True}) == 1
        event = subscription.get(timeout=5)
        assert event is not None
        assert event.channel == "ingest"
        assert event.data == {"ids": [1, 2], "ok": True}
        assert subscription.get(timeout=0.2) is None
    assert cache.events.publish("ingest", "nobody listens") == 0


def test_events_of_other_namespaces_are_not_seen(cache: RedisCache, redis_config: object) -> None:
    other = RedisCache(cache.config, namespace=cache.space.prefix + "other")
    try:
        with cache.events.subscribe("shared-name") as subscription:
            assert other.events.publish("shared-name", 1) == 0
            assert subscription.get(timeout=0.3) is None
    finally:
        other.close()


def test_bad_event_input(cache: RedisCache) -> None:
    with pytest.raises(InvalidInputError, match="not JSON-serialisable"):
        cache.events.publish("c", {1, 2})
    with pytest.raises(InvalidInputError, match="at least one channel"):
        cache.events.subscribe()


def test_stream_group_read_ack_pending(cache: RedisCache) -> None:
    stream = cache.stream("jobs")
    ids = [stream.add({"n": i, "kind": "embed"}) for i in range(5)]
    assert stream.length() == 5
    assert stream.ensure_group("workers") is True
    assert stream.ensure_group("workers") is False, "creating an existing group is harmless"
    first = stream.read("workers", "w1", count=3)
    assert [e.id for e in first] == ids[:3]
    assert first[0].fields == {"n": "0", "kind": "embed"}
    assert stream.pending("workers") == 3
    assert stream.ack("workers", *[e.id for e in first]) == 3
    assert stream.pending("workers") == 0
    rest = stream.read("workers", "w1", count=10)
    assert [e.id for e in rest] == ids[3:]
    assert stream.read("workers", "w1", count=10, block=0.1) == []


def test_two_consumers_share_a_group_without_overlap(cache: RedisCache) -> None:
    stream = cache.stream("split")
    stream.ensure_group("g")
    added = {stream.add({"i": i}) for i in range(40)}
    seen: dict[str, list[str]] = {"a": [], "b": []}
    for _ in range(10):
        for consumer in ("a", "b"):
            for entry in stream.read("g", consumer, count=3):
                seen[consumer].append(entry.id)
                stream.ack("g", entry.id)
    assert set(seen["a"]) | set(seen["b"]) == added
    assert not set(seen["a"]) & set(seen["b"]), "an entry goes to one consumer only"
    assert seen["a"], "both consumers get work"
    assert seen["b"], "both consumers get work"


def test_entries_of_a_dead_consumer_can_be_claimed(cache: RedisCache) -> None:
    stream = cache.stream("claims")
    stream.ensure_group("g")
    stream.add({"job": "x"})
    taken = stream.read("g", "crashed", count=1)
    assert len(taken) == 1
    assert stream.claim_stale("g", "rescuer", min_idle=60) == [], "not idle long enough yet"
    claimed = stream.claim_stale("g", "rescuer", min_idle=0)
    assert [e.id for e in claimed] == [taken[0].id]
    stream.ack("g", claimed[0].id)
    assert stream.pending("g") == 0
    with pytest.raises(InvalidInputError, match="at least one field"):
        stream.add({})
