"""The lock is redis-py's Lock: it excludes a redis-py Lock on the same key both ways, and keeps redis-py's
ttl / blocking_timeout meanings; plus the tracker every Redis command of a cache reports to."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from vectorstack.cache import MetricsStore, RedisCache
from vectorstack.errors import LockNotOwnedError

pytestmark = [pytest.mark.integration, pytest.mark.redis]


def test_a_redis_py_lock_on_the_same_key_is_the_same_lock(
    cache: RedisCache, make_cache: Callable[..., RedisCache]
) -> None:
    ours = cache.lock("shared", ttl=30)
    # A plain redis-py Lock, from another pool, as another program using redis-py directly would hold it.
    theirs = make_cache(namespace=cache.space.prefix).client.lock(ours.key, timeout=30)
    assert theirs.acquire(blocking=False)
    assert not ours.acquire(blocking=False), "a redis-py Lock held on the name blocks ours"
    assert ours.locked()
    assert not ours.owned()
    theirs.release()
    assert ours.acquire(blocking=False)
    assert not theirs.acquire(blocking=False), "ours blocks a redis-py Lock on the same name"
    assert theirs.locked()
    assert not theirs.owned()
    ours.release()
    assert theirs.acquire(blocking=False)
    theirs.release()


def test_ttl_is_the_expiry_and_blocking_timeout_the_wait(cache: RedisCache) -> None:
    holder = cache.lock("meanings", ttl=30, blocking_timeout=0)
    assert holder.acquire()
    left_ms = cache.client.pttl(holder.key)
    assert isinstance(left_ms, int)
    assert 20_000 < left_ms <= 30_000, "ttl sets the key's expiry"
    waiter = cache.lock("meanings", ttl=1, blocking_timeout=0.3)
    started = time.monotonic()
    assert not waiter.acquire()
    assert time.monotonic() - started >= 0.2, "blocking_timeout is how long acquire waits"
    holder.release()


def test_reacquire_restarts_the_ttl_only_for_the_owner(cache: RedisCache) -> None:
    lock = cache.lock("heartbeat", ttl=30)
    assert lock.acquire()
    cache.client.pexpire(lock.key, 2_000)  # most of the ttl used up by long work
    lock.reacquire()
    left_ms = cache.client.pttl(lock.key)
    assert isinstance(left_ms, int)
    assert left_ms > 20_000
    cache.client.set(lock.key, "another-holder")
    with pytest.raises(LockNotOwnedError, match="taken by another holder"):
        lock.reacquire()
    assert not lock.owned()
    assert lock.acquire(blocking_timeout=0) is False, "the lock lost is forgotten: acquiring again is allowed"
    assert cache.client.get(lock.key) == b"another-holder", "nothing of the other holder's was touched"


def test_an_acquire_repeated_after_a_lost_reply_finds_its_own_token(cache: RedisCache) -> None:
    # redis-py resends a command whose reply was lost; the SET may have succeeded the first time.
    lock = cache.lock("retried", ttl=30)
    assert lock.redis_lock.do_acquire(b"token-1")
    assert lock.redis_lock.do_acquire(b"token-1"), "its own token in place: acquired, not a wait for itself"
    assert not lock.redis_lock.do_acquire(b"token-2")
    cache.client.delete(lock.key)


class _Recorder:
    """A Tracker (vectorstack.tracking) that counts operations by name."""

    def __init__(self) -> None:
        self.operations: Counter[str] = Counter()

    @contextlib.contextmanager
    def track(self, service: str, operation: str, *, records: int = 0) -> Iterator[None]:
        self.operations[f"{service}:{operation}"] += 1
        yield

    def count(self, service: str, operation: str, records: int) -> None:
        pass


def test_the_tracker_parameter_times_every_command_and_metrics_stays_the_store(
    cache: RedisCache, make_cache: Callable[..., RedisCache]
) -> None:
    recorder = _Recorder()
    tracked = make_cache(namespace=cache.space.prefix, tracker=recorder)
    with tracked.lock("tracked", ttl=30):
        tracked.kv.set("k", "v")
    assert recorder.operations["redis:set"] == 1
    assert recorder.operations["redis:evalsha"] >= 2, "the lock's acquire and release scripts are timed too"
    assert isinstance(tracked.metrics, MetricsStore), "`metrics` is the store of metrics kept in Redis"
