"""Issue 16, finding 8 and the cache's other calls: bad input is refused with the library's error before
anything is sent, and a stored vector that does not fit the cache is reported, never returned."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from vectorstack.cache import RedisCache, VectorCache
from vectorstack.config import RedisConfig
from vectorstack.errors import CorruptValueError, DimensionMismatchError, InvalidInputError, ServiceUnavailableError

pytestmark = [pytest.mark.integration, pytest.mark.redis]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_infinite_vectors_are_refused_and_nothing_is_written(cache: RedisCache, bad: float) -> None:
    vector = np.ones(8, dtype=np.float32)
    vector[3] = bad
    cache.vectors.set("kept", np.zeros(8, dtype=np.float32))
    with pytest.raises(InvalidInputError, match=r"NaN or infinity \(first at index 3\).*finite") as info:
        cache.vectors.set("v", vector)
    assert not isinstance(info.value, DimensionMismatchError)
    with pytest.raises(InvalidInputError, match="finite"):
        cache.vectors.set_many({"fine": np.ones(8, dtype=np.float32), "v": vector})
    with pytest.raises(InvalidInputError, match=r"index \(1, 3\)"):
        cache.vectors.set("batch", np.stack([np.ones(8, dtype=np.float32), vector]))
    assert cache.vectors.get_many(["v", "fine", "batch"]) == {"v": None, "fine": None, "batch": None}
    np.testing.assert_array_equal(cache.vectors.get("kept"), np.zeros(8, dtype=np.float32))


def test_a_stored_vector_of_another_dimension_or_dtype_is_reported_not_returned(cache: RedisCache) -> None:
    """The finding: an 8-dim float32 vector came back through a cache declared 16-dim float64."""
    untyped = cache.vectors  # same namespace, no declared shape: another program's writes
    untyped.set("small", np.ones(8, dtype=np.float32))
    untyped.set("wide", np.ones(16, dtype=np.float32))
    typed = VectorCache(cache.space, dimension=16, dtype=np.float64)
    typed.set("good", np.ones(16, dtype=np.float64))
    with pytest.raises(CorruptValueError, match=r"'small' does not fit this cache.*dtype float32.*delete it") as info:
        typed.get("small")
    assert isinstance(info.value.__cause__, InvalidInputError)
    with pytest.raises(CorruptValueError, match=r"'wide'.*float32, this cache holds float64"):
        typed.get("wide")
    only16 = VectorCache(cache.space, dimension=16)
    with pytest.raises(CorruptValueError, match=r"'small'.*expected 16, got 8"):
        only16.get("small")
    with pytest.raises(CorruptValueError, match="'small'"):
        typed.get_many(["good", "small"])
    np.testing.assert_array_equal(typed.get_many(["good"])["good"], np.ones(16))


def test_a_stored_nan_vector_is_reported_on_read(cache: RedisCache) -> None:
    """Written by something that skipped the check (raw bytes in the library's own format)."""
    from vectorstack.arrays import encode_array

    poisoned = np.array([1.0, np.nan], dtype=np.float32)
    cache.client.set(cache.space.prefix + "vec:poisoned", encode_array(poisoned))
    with pytest.raises(CorruptValueError, match=r"'poisoned'.*NaN or infinity"):
        cache.vectors.get("poisoned")
    with pytest.raises(CorruptValueError, match="'poisoned'"):
        cache.vectors.get_many(["poisoned"])


Call = Callable[[RedisCache], Any]
_BAD_CALLS: dict[str, Call] = {
    "get_many with one str": lambda c: c.vectors.get_many("abc"),
    "get_many of ints": lambda c: c.vectors.get_many([1, 2]),  # type: ignore[list-item]
    "set_many with a list": lambda c: c.vectors.set_many([("k", np.ones(2))]),  # type: ignore[arg-type]
    "kv only_if_absent='no'": lambda c: c.kv.set("k", "v", only_if_absent="no"),  # type: ignore[arg-type]
    "stream ack with a bad id": lambda c: c.stream("s").ack("g", "not-an-id"),
    "stream ack of an int": lambda c: c.stream("s").ack("g", 5),  # type: ignore[arg-type]
    "stream ack empty group": lambda c: c.stream("s").ack("", "1-0"),
    "stream pending empty group": lambda c: c.stream("s").pending(""),
    "stream pending int consumer": lambda c: c.stream("s").pending("g", 3),  # type: ignore[arg-type]
    "stream claim empty group": lambda c: c.stream("s").claim_stale("", "c", min_idle=1),
    "stream add_many one mapping": lambda c: c.stream("s").add_many({"a": "b"}),  # type: ignore[arg-type]
    "stream add_many of an int": lambda c: c.stream("s").add_many(3),  # type: ignore[arg-type]
    "stream ensure_group from_start='yes'": lambda c: c.stream("s").ensure_group("g", from_start="yes"),  # type: ignore[arg-type]
    "publish NaN": lambda c: c.events.publish("ch", {"x": float("nan")}),
    "session with NaN": lambda c: c.sessions.create({"x": float("inf")}),
    "session get touch=1": lambda c: c.sessions.get("id", touch=1),  # type: ignore[arg-type]
    "series since='yesterday'": lambda c: c.metrics.series("m", since="yesterday"),  # type: ignore[arg-type]
    "record NaN": lambda c: c.metrics.record("m", float("nan")),
    "metric labels as a list": lambda c: c.metrics.incr("m", labels=["a"]),  # type: ignore[arg-type]
    "lock acquire blocking='no'": lambda c: c.lock("l").acquire(blocking="no"),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("call", list(_BAD_CALLS.values()), ids=list(_BAD_CALLS))
def test_bad_arguments_to_the_other_calls_are_refused_before_anything_is_sent(cache: RedisCache, call: Call) -> None:
    with pytest.raises(InvalidInputError) as info:
        call(cache)
    assert str(info.value)
    assert list(cache.client.scan_iter(match=cache.space.pattern())) == [], "nothing was written"


def _port_nobody_listens_on() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "bad",
    [{"namespace": ""}, {"namespace": ":::"}, {"dimension": 0}, {"max_value_bytes": -1}],
    ids=["empty-namespace", "colons-only", "dimension-0", "negative-limit"],
)
def test_the_constructor_refuses_bad_arguments_before_it_sends_anything(bad: dict[str, Any]) -> None:
    """Pointed at a port where nothing listens: a refusal before sending is InvalidInputError; before the
    fix the constructor PINGed first, and the same call reported the server as unreachable."""
    nowhere = RedisConfig(port=_port_nobody_listens_on(), timeout=1.0, retries=0)
    with pytest.raises(InvalidInputError):
        RedisCache(nowhere, **bad)
    with pytest.raises(ServiceUnavailableError):
        RedisCache(nowhere, namespace="fine")
