"""Generated bad input for every public call of the Redis cache (issue 16): each example must be refused
with a library error, in time, and leave the namespace's stored data exactly as it was.

One namespace per module and worker, seeded once with every kind of value the cache stores (vectors, plain
values, a stream with a consumer group and a pending entry, a session, counters, gauges, a series, a held
lock); after every example its keys are read back raw (type and DUMP of each) and through the public calls,
and compared with the seed. The namespace is cleared at the end.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.bad_input import BAD_INPUT_SETTINGS, Refusals
from tests.bad_values import (
    not_count,
    not_finite_number,
    not_flag,
    not_json,
    not_key,
    not_positive_seconds,
    not_seconds,
    not_text,
    resource_name,
)
from vectorstack.cache import DistributedLock, RedisCache, StreamQueue, Subscription, VectorCache
from vectorstack.config import RedisConfig

pytestmark = [pytest.mark.integration, pytest.mark.redis]

DIM = 8
VECTORS = {f"v{i}": np.arange(DIM, dtype=np.float32) + i for i in range(3)}
VALUES = {"a": b"alpha", "b": b"\x00\xffbinary"}


@dataclass
class Seeded:
    """The module's cache, the typed vector cache and stream under test, and what was stored in them."""

    cache: RedisCache
    typed: VectorCache
    stream: StreamQueue
    lock: DistributedLock
    session_id: str
    raw: dict[bytes, tuple[bytes, bytes]] = field(repr=False)

    def snapshot(self) -> dict[bytes, tuple[bytes, bytes]]:
        """Every key of the namespace with its type and serialized value (DUMP: exact, TTL aside)."""
        client = self.cache.client
        keys = sorted(client.scan_iter(match=self.cache.space.pattern(), count=500))
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.type(key)
            pipe.dump(key)
        replies = pipe.execute()
        return {key: (replies[2 * i], replies[2 * i + 1]) for i, key in enumerate(keys)}

    def assert_unchanged(self) -> None:
        """Exact, raw: cheap enough (one pipelined round trip) to run after every refusal."""
        assert self.snapshot() == self.raw, "a refused call changed the stored data"

    def assert_readable_as_seeded(self) -> None:
        """The same data through the public calls: counts and contents as the seed left them."""
        got = self.typed.get_many(VECTORS)
        assert all(np.array_equal(got[k], v) for k, v in VECTORS.items()), "vectors changed"  # type: ignore[arg-type]
        assert {k: self.cache.kv.get(k) for k in VALUES} == VALUES
        assert self.stream.length() == 2
        assert self.stream.pending("g") == 1
        assert self.cache.sessions.get(self.session_id) == {"user": "u1"}
        assert self.cache.metrics.counters() == {"hits": 3.0}
        assert self.cache.metrics.gauges() == {"load": 0.5}
        assert [v for _, v in self.cache.metrics.series("latency")] == [1.0]
        assert self.lock.owned()


@pytest.fixture(scope="module")
def seeded(redis_config: RedisConfig) -> Iterator[Seeded]:
    with RedisCache(redis_config, namespace=resource_name("badin")) as cache:
        try:
            typed = VectorCache(cache.space, dimension=DIM, dtype=np.float32)
            typed.set_many(VECTORS)
            for key, value in VALUES.items():
                cache.kv.set(key, value)
            stream = cache.stream("jobs")
            stream.ensure_group("g")
            stream.add_many([{"n": 1}, {"n": 2}])
            stream.read("g", "c1", count=1)  # one entry pending
            session_id = cache.sessions.create({"user": "u1"})
            cache.metrics.incr("hits", 3)
            cache.metrics.set_gauge("load", 0.5)
            cache.metrics.record("latency", 1.0)
            lock = cache.lock("held", ttl=600)
            assert lock.acquire()
            seeded = Seeded(cache, typed, stream, lock, session_id, {})
            seeded.raw = seeded.snapshot()
            yield seeded
        finally:
            cache.clear()


@pytest.fixture
def check(seeded: Seeded, refusals: Refusals) -> Iterator[Callable[[Callable[[], object], str], None]]:
    """Refused as the contract says, and the stored data unchanged after each refusal (raw) and after
    the test (through the public calls)."""

    def run(call: Callable[[], object], what: str) -> None:
        refusals.check(call, what)
        seeded.assert_unchanged()

    yield run
    seeded.assert_readable_as_seeded()


Check = Callable[[Callable[[], object], str], None]
# Bad dict keys must be hashable to build the dict at all.
hashable_not_key = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.binary(max_size=3), st.just(""))
not_iterable = st.one_of(st.none(), st.booleans(), st.integers(), st.floats())
good_vector = st.just(np.ones(DIM, dtype=np.float32))
wrong_width = hnp.arrays(np.float32, hnp.array_shapes(min_dims=0, max_dims=3, max_side=10)).filter(
    lambda a: a.ndim == 0 or a.shape[-1] != DIM
)
wrong_dtype = st.sampled_from(["float64", "float16", "int32", "int8", "uint8", "bool", "complex64"]).map(
    lambda dtype: np.zeros(DIM, dtype=dtype)
)
not_finite_vector = st.tuples(st.integers(0, DIM - 1), st.sampled_from([np.nan, np.inf, -np.inf])).map(
    lambda spot: np.where(np.arange(DIM) == spot[0], spot[1], 1.0).astype(np.float32)
)
not_an_array = st.one_of(not_text, st.text(max_size=3), st.lists(st.floats(), min_size=DIM, max_size=DIM))
bad_vector = st.one_of(wrong_width, wrong_dtype, not_finite_vector, not_an_array)
bad_ttl = not_positive_seconds  # None is "no expiry": valid


@BAD_INPUT_SETTINGS
@given(key=st.one_of(not_key, st.just("ok")), vector=st.one_of(good_vector, bad_vector), ttl=st.none() | bad_ttl)
def test_vector_writes(seeded: Seeded, check: Check, key: Any, vector: Any, ttl: Any) -> None:
    valid_vector = isinstance(vector, np.ndarray) and vector.shape == (DIM,) and vector.dtype == np.float32
    if key == "ok" and ttl is None and valid_vector and np.isfinite(vector).all():
        return  # that one is valid
    check(lambda: seeded.typed.set(key, vector, ttl=ttl), f"set({key!r}, {type(vector).__name__}, ttl={ttl!r})")
    if isinstance(key, Hashable):  # a mapping cannot even be built with a list as its key
        batch: dict[Any, Any] = {"fine": np.ones(DIM, np.float32), key: vector}
        check(lambda: seeded.typed.set_many(batch, ttl=ttl), "set_many")


@BAD_INPUT_SETTINGS
@given(
    arrays=st.one_of(not_text.filter(lambda v: not isinstance(v, dict)), st.lists(st.tuples(st.text(), good_vector)))
)
def test_set_many_of_a_non_mapping(seeded: Seeded, check: Check, arrays: Any) -> None:
    check(lambda: seeded.typed.set_many(arrays), f"set_many({arrays!r})")


@BAD_INPUT_SETTINGS
@given(key=not_key, keys=st.one_of(st.text(min_size=1), st.lists(not_key, min_size=1, max_size=3), not_iterable))
def test_vector_reads_and_deletes(seeded: Seeded, check: Check, key: Any, keys: Any) -> None:
    vectors = seeded.typed
    check(lambda: vectors.get(key), f"get({key!r})")
    check(lambda: vectors.ttl(key), f"ttl({key!r})")
    check(lambda: vectors.delete("v0", key), f"delete('v0', {key!r})")
    check(lambda: vectors.get_many(keys), f"get_many({keys!r})")


@BAD_INPUT_SETTINGS
@given(
    options=st.one_of(
        st.fixed_dictionaries({"dimension": st.one_of(not_count.filter(lambda v: v is not None))}),
        st.fixed_dictionaries({"dtype": st.sampled_from(["U8", "object", "no-such-dtype", "V4", "M8"])}),
        st.fixed_dictionaries({"max_value_bytes": st.one_of(not_count, st.integers(min_value=512 * 1024**2 + 1))}),
        st.fixed_dictionaries({"default_ttl": bad_ttl}),
    )
)
def test_vector_cache_options(seeded: Seeded, check: Check, options: dict[str, Any]) -> None:
    check(lambda: VectorCache(seeded.cache.space, **options), f"VectorCache({options!r})")


@BAD_INPUT_SETTINGS
@given(
    key=st.one_of(not_key, st.just("a")),
    value=st.one_of(st.just(b"new"), not_text.filter(lambda v: not isinstance(v, bytes))),
    ttl=st.none() | bad_ttl,
    only_if_absent=st.one_of(st.just(False), not_flag),
)
def test_key_value_calls(seeded: Seeded, check: Check, key: Any, value: Any, ttl: Any, only_if_absent: Any) -> None:
    kv = seeded.cache.kv
    if key == "a" and value == b"new" and ttl is None and only_if_absent is False:
        return  # valid: would overwrite
    check(lambda: kv.set(key, value, ttl=ttl, only_if_absent=only_if_absent), f"kv.set({key!r}, {value!r}, ...)")
    if key != "a":
        for name in ("get", "get_text", "exists", "ttl"):
            check(lambda name=name: getattr(kv, name)(key), f"kv.{name}({key!r})")  # type: ignore[misc]
        check(lambda: kv.delete("a", key), f"kv.delete('a', {key!r})")


@BAD_INPUT_SETTINGS
@given(channel=st.one_of(not_key, st.just("news")), data=st.one_of(st.just({"ok": 1}), not_json))
def test_events(seeded: Seeded, check: Check, channel: Any, data: Any) -> None:
    events = seeded.cache.events
    if channel != "news" or data != {"ok": 1}:
        check(lambda: events.publish(channel, data), f"publish({channel!r}, {data!r})")
    if channel != "news":
        check(lambda: events.subscribe(channel), f"subscribe({channel!r})")
    check(lambda: events.subscribe(), "subscribe()")


@BAD_INPUT_SETTINGS
@given(block_timeout=not_seconds, subscribe_timeout=not_positive_seconds)
def test_subscription_timeouts(seeded: Seeded, check: Check, block_timeout: Any, subscribe_timeout: Any) -> None:
    events = seeded.cache.events
    check(lambda: events.subscribe("news", timeout=subscribe_timeout), f"subscribe(timeout={subscribe_timeout!r})")
    with events.subscribe("news") as subscription:
        assert isinstance(subscription, Subscription)
        check(lambda: subscription.get(timeout=block_timeout), f"Subscription.get(timeout={block_timeout!r})")


bad_fields = st.one_of(
    not_text.filter(lambda v: not isinstance(v, dict) or not v or not all(isinstance(k, str) and k for k in v)),
    st.just({}),
    st.dictionaries(hashable_not_key, st.just("v"), min_size=1, max_size=2),
    st.dictionaries(
        st.text(min_size=1, max_size=3),
        st.one_of(st.none(), st.booleans(), st.lists(st.integers())),
        min_size=1,
        max_size=2,
    ),
)


@BAD_INPUT_SETTINGS
@given(
    fields=bad_fields,
    entries=st.one_of(st.lists(bad_fields, min_size=1, max_size=2), st.integers(), st.text(min_size=1)),
    maxlen=not_count.filter(lambda v: v is not None),  # None: no limit
)
def test_stream_writes(seeded: Seeded, check: Check, fields: Any, entries: Any, maxlen: Any) -> None:
    stream = seeded.stream
    check(lambda: stream.add(fields), f"add({fields!r})")
    check(lambda: stream.add_many([{"n": 3}, fields]), f"add_many([ok, {fields!r}])")
    check(lambda: stream.add_many(entries), f"add_many({entries!r})")
    check(lambda: seeded.cache.stream("jobs", maxlen=maxlen), f"stream(maxlen={maxlen!r})")


@BAD_INPUT_SETTINGS
@given(
    name=not_key,
    count=not_count,
    block=not_seconds,
    entry_id=st.one_of(not_text, st.text().filter(lambda s: not re.fullmatch(r"\d+(-\d+)?", s))),
    flag=not_flag,
)
def test_stream_group_calls(
    seeded: Seeded, check: Check, name: Any, count: Any, block: Any, entry_id: Any, flag: Any
) -> None:
    stream = seeded.stream
    check(lambda: stream.ensure_group(name), f"ensure_group({name!r})")
    check(lambda: stream.ensure_group("g2", from_start=flag), f"ensure_group(from_start={flag!r})")
    check(lambda: stream.read(name, "c1"), f"read({name!r}, 'c1')")
    check(lambda: stream.read("g", name), f"read('g', {name!r})")
    check(lambda: stream.read("g", "c1", count=count), f"read(count={count!r})")
    check(lambda: stream.read("g", "c1", block=block), f"read(block={block!r})")
    check(lambda: stream.ack("g", entry_id), f"ack('g', {entry_id!r})")
    check(lambda: stream.ack(name, "1-0"), f"ack({name!r}, '1-0')")
    check(lambda: stream.pending(name), f"pending({name!r})")
    check(lambda: stream.claim_stale("g", name, min_idle=1), f"claim_stale(consumer={name!r})")
    check(lambda: stream.claim_stale("g", "c2", min_idle=block), f"claim_stale(min_idle={block!r})")
    check(lambda: stream.claim_stale("g", "c2", min_idle=1, count=count), f"claim_stale(count={count!r})")


@BAD_INPUT_SETTINGS
@given(
    session_id=not_key,
    data=st.one_of(not_json, not_text.filter(lambda v: not isinstance(v, dict))),
    ttl=bad_ttl,
    flag=not_flag,
)
def test_sessions(seeded: Seeded, check: Check, session_id: Any, data: Any, ttl: Any, flag: Any) -> None:
    sessions = seeded.cache.sessions
    own = seeded.session_id
    check(lambda: sessions.create(data), f"create({data!r})")
    check(lambda: sessions.create({"ok": 1}, ttl=ttl), f"create(ttl={ttl!r})")
    check(lambda: sessions.update(own, data), f"update(data={data!r})")
    check(lambda: sessions.touch(own, ttl=ttl), f"touch(ttl={ttl!r})")
    check(lambda: sessions.get(own, touch=flag), f"get(touch={flag!r})")
    for call in (sessions.get, sessions.ttl, sessions.destroy):
        check(lambda call=call: call(session_id), f"{call.__name__}({session_id!r})")  # type: ignore[misc]
    check(lambda: sessions.update(session_id, {"ok": 1}), f"update({session_id!r})")
    check(lambda: sessions.touch(session_id), f"touch({session_id!r})")


bad_metric_name = st.one_of(
    not_text, st.text(max_size=6).filter(lambda s: not re.fullmatch(r"[A-Za-z_:][A-Za-z0-9_:]*", s))
)
bad_labels = st.one_of(
    st.lists(st.text(max_size=2), min_size=1, max_size=2),
    st.text(min_size=1, max_size=3),
    st.integers(),
    st.dictionaries(
        st.text(max_size=4).filter(lambda s: not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", s)),
        st.just("v"),
        min_size=1,
        max_size=1,
    ),
    st.dictionaries(st.just("op"), st.one_of(st.integers(), st.none(), st.booleans()), min_size=1),
)


@BAD_INPUT_SETTINGS
@given(
    name=bad_metric_name,
    labels=bad_labels,
    value=not_finite_number,
    bound=st.one_of(not_text.filter(lambda v: not isinstance(v, int | float) or v != v), st.just(float("nan"))),
)
def test_metrics(seeded: Seeded, check: Check, name: Any, labels: Any, value: Any, bound: Any) -> None:
    metrics = seeded.cache.metrics
    for call in (metrics.incr, metrics.counter, metrics.gauge):
        check(lambda call=call: call(name), f"{call.__name__}({name!r})")  # type: ignore[misc]
        check(lambda call=call: call("hits", labels=labels), f"{call.__name__}(labels={labels!r})")  # type: ignore[misc]
    check(lambda: metrics.incr("hits", value), f"incr(amount={value!r})")
    check(lambda: metrics.incr("hits", -1.0), "incr(amount=-1)")
    check(lambda: metrics.set_gauge("load", value), f"set_gauge({value!r})")
    check(lambda: metrics.set_gauge(name, 1.0), f"set_gauge({name!r})")
    check(lambda: metrics.record("latency", value), f"record({value!r})")
    if value is not None:  # at=None means now
        check(lambda: metrics.record("latency", 1.0, at=value), f"record(at={value!r})")
    check(lambda: metrics.record(name, 1.0), f"record({name!r})")
    check(lambda: metrics.series("latency", since=bound), f"series(since={bound!r})")
    check(lambda: metrics.series("latency", until=bound), f"series(until={bound!r})")
    check(lambda: metrics.series(name), f"series({name!r})")


@BAD_INPUT_SETTINGS
@given(name=not_key, limit=not_count, window=st.one_of(not_positive_seconds, st.none()))
def test_rate_limiter(seeded: Seeded, check: Check, name: Any, limit: Any, window: Any) -> None:
    cache = seeded.cache
    check(lambda: cache.rate_limiter(name, limit=5, window=1.0), f"rate_limiter({name!r})")
    check(lambda: cache.rate_limiter("api", limit=limit, window=1.0), f"rate_limiter(limit={limit!r})")
    check(lambda: cache.rate_limiter("api", limit=5, window=window), f"rate_limiter(window={window!r})")
    limiter = cache.rate_limiter("api", limit=5, window=1.0)
    check(lambda: limiter.hit(name), f"hit({name!r})")
    check(lambda: limiter.check(name), f"check({name!r})")


@BAD_INPUT_SETTINGS
@given(name=not_key, ttl=st.one_of(bad_ttl, st.none()), wait=not_seconds, flag=not_flag)
def test_locks(seeded: Seeded, check: Check, name: Any, ttl: Any, wait: Any, flag: Any) -> None:
    cache = seeded.cache
    check(lambda: cache.lock(name), f"lock({name!r})")
    check(lambda: cache.lock("free", ttl=ttl), f"lock(ttl={ttl!r})")
    check(lambda: cache.lock("free", blocking_timeout=wait), f"lock(blocking_timeout={wait!r})")
    free = cache.lock("free")
    check(lambda: free.acquire(blocking_timeout=wait), f"acquire(blocking_timeout={wait!r})")
    check(lambda: free.acquire(blocking=flag), f"acquire(blocking={flag!r})")
    if ttl is not None:
        check(lambda: seeded.lock.extend(ttl), f"extend({ttl!r}) of the held lock")
    check(lambda: seeded.lock.acquire(), "acquire() of a lock this object holds")
