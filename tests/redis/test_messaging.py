"""Pub/sub events and streams with consumer groups and acknowledgements."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from vectorstack.cache import EventBus, RedisCache
from vectorstack.config import RedisConfig
from vectorstack.errors import CorruptValueError, InvalidInputError, NotFoundError

from ..waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.redis]


def test_published_event_reaches_the_subscriber(events: EventBus) -> None:
    with events.subscribe("ingest", "alerts") as subscription:
        # subscribe() returns once the server confirmed both channels, so the count is exact at once.
        assert events.publish("ingest", {"ids": [1, 2], "ok": True}) == 1
        event = subscription.get(timeout=10)
        assert event is not None
        assert event.channel == "ingest"
        assert event.data == {"ids": [1, 2], "ok": True}
        assert subscription.get(timeout=0.2) is None
    assert events.publish("ingest", "nobody listens") == 0


def test_every_subscriber_gets_every_event_in_order(events: EventBus) -> None:
    with events.subscribe("a", "b") as first, events.subscribe("b") as second:
        assert events.publish("a", 1) == 1
        assert events.publish("b", 2) == 2
        assert events.publish("b", [3]) == 2
        assert [(e.channel, e.data) for e in first.messages(idle_timeout=0.5)] == [("a", 1), ("b", 2), ("b", [3])]
        assert [e.data for e in second.messages(idle_timeout=0.5)] == [2, [3]]


def test_a_closed_subscription_stops_counting(events: EventBus) -> None:
    subscription = events.subscribe("c")
    assert events.publish("c", "x") == 1
    subscription.close()
    with pytest.raises(InvalidInputError, match="closed"):
        subscription.get(timeout=0.1)
    # The server drops the subscriber when the connection closes: poll for it rather than sleep.
    eventually(lambda: events.publish("c", "y"), "the server to drop the closed subscriber", until=lambda n: n == 0)
    assert events.publish("c", "z") == 0


def test_events_of_other_namespaces_are_not_seen(cache: RedisCache, make_cache: Callable[..., RedisCache]) -> None:
    other = make_cache()
    with cache.events.subscribe("shared-name") as subscription:
        assert other.events.publish("shared-name", 1) == 0
        assert subscription.get(timeout=0.3) is None
        assert cache.events.publish("shared-name", 2) == 1
        event = subscription.get(timeout=10)
        assert event is not None
        assert event.data == 2


def test_bad_event_input(cache: RedisCache) -> None:
    with pytest.raises(InvalidInputError, match="not JSON-serialisable"):
        cache.events.publish("c", {1, 2})
    with pytest.raises(InvalidInputError, match="at least one channel"):
        cache.events.subscribe()
    with pytest.raises(InvalidInputError, match="non-empty"):
        cache.events.publish("", 1)
    with cache.events.subscribe("raw") as subscription:
        cache.client.publish(cache.events.channel("raw"), b"\x00 not json")
        with pytest.raises(CorruptValueError, match="not JSON"):
            subscription.get(timeout=10)


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
    assert stream.pending("workers", "w1") == 3
    assert stream.pending("workers", "w2") == 0
    assert stream.ack("workers", *[e.id for e in first]) == 3
    assert stream.ack("workers", first[0].id) == 0, "acking twice counts once"
    assert stream.pending("workers") == 0
    rest = stream.read("workers", "w1", count=10)
    assert [e.id for e in rest] == ids[3:]
    assert stream.read("workers", "w1", count=10, block=0.1) == []


def test_a_group_created_later_can_skip_the_backlog(cache: RedisCache) -> None:
    stream = cache.stream("backlog")
    stream.add({"old": "1"})
    assert stream.ensure_group("fresh", from_start=False)
    assert stream.read("fresh", "c") == []
    new_id = stream.add({"new": "1"})
    assert [e.id for e in stream.read("fresh", "c")] == [new_id]


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
    assert stream.pending("g", "rescuer") == 1
    assert stream.pending("g", "crashed") == 0
    stream.ack("g", claimed[0].id)
    assert stream.pending("g") == 0


def test_a_long_block_outlasts_the_socket_timeout(
    redis_config: RedisConfig, make_cache: Callable[..., RedisCache]
) -> None:
    quick = RedisConfig(
        host=redis_config.host,
        port=redis_config.port,
        password=redis_config.password,
        username=redis_config.username,
        db=redis_config.db,
        timeout=0.4,
        retries=0,
    )
    stream = make_cache(quick).stream("slow")
    stream.ensure_group("g")
    started = time.monotonic()
    assert stream.read("g", "c", block=1.2) == [], "an empty wait ends normally, not as 'unreachable'"
    assert time.monotonic() - started >= 1.1
    entry_id = stream.add({"k": "v"})
    started = time.monotonic()
    assert [e.id for e in stream.read("g", "c", block=30)] == [entry_id]
    assert time.monotonic() - started < 10, "waiting ends as soon as there is an entry"


def test_stream_errors_say_what_to_do(cache: RedisCache) -> None:
    stream = cache.stream("errs")
    stream.add({"a": "1"})
    with pytest.raises(NotFoundError, match="ensure_group"):
        stream.read("no-such-group", "c")
    with pytest.raises(NotFoundError, match="ensure_group"):
        stream.pending("no-such-group")
    with pytest.raises(InvalidInputError, match="at least one field"):
        stream.add({})
    with pytest.raises(InvalidInputError, match=r"json\.dumps"):
        stream.add({"nested": {"a": 1}})  # type: ignore[dict-item]
    with pytest.raises(InvalidInputError, match=r"json\.dumps"):
        stream.add({"flag": True})
    with pytest.raises(InvalidInputError, match="count"):
        stream.read("g", "c", count=0)
    with pytest.raises(InvalidInputError, match="block"):
        stream.read("g", "c", block=-1)
    with pytest.raises(InvalidInputError, match="maxlen"):
        cache.stream("capped", maxlen=0)
    assert stream.length() == 1, "refused entries were not added"


def test_binary_fields_and_capped_streams(cache: RedisCache) -> None:
    stream = cache.stream("bin", maxlen=3)
    stream.ensure_group("g")
    for i in range(5):
        stream.add({"blob": bytes([0xFF, i]), "i": i})
    assert stream.length() == 3, "maxlen keeps only the newest entries"
    entries = stream.read("g", "c", count=10)
    assert [e.raw["blob"] for e in entries] == [b"\xff\x02", b"\xff\x03", b"\xff\x04"]
    with pytest.raises(CorruptValueError, match=r"binary values; read them from \.raw"):
        _ = entries[0].fields
    assert stream.delete()
    assert stream.length() == 0


def test_add_many_appends_in_order_in_one_call_and_checks_all_first(cache: RedisCache) -> None:
    stream = cache.stream("bulk")
    ids = stream.add_many([{"n": i} for i in range(500)])
    assert len(ids) == 500
    assert ids == sorted(ids, key=lambda i: tuple(int(p) for p in i.split("-")))
    assert stream.length() == 500
    with pytest.raises(InvalidInputError, match="must be str, bytes, int or float"):
        stream.add_many([{"n": 1}, {"n": [2]}])  # type: ignore[dict-item]
    assert stream.length() == 500, "nothing of a refused batch is written"
    assert stream.add_many([]) == []
    stream.delete()
