"""Rate limiter and distributed lock, with many threads (and separate connection pools) at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from vectorstack.cache import RedisCache
from vectorstack.errors import InvalidInputError, LockNotOwnedError, LockTimeoutError, RateLimitExceededError

from ..waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.redis]


def test_rate_limiter_admits_exactly_the_limit(cache: RedisCache) -> None:
    limiter = cache.rate_limiter("api", limit=5, window=30)
    decisions = [limiter.hit("user-1") for _ in range(7)]
    assert [d.admitted for d in decisions] == [True] * 5 + [False] * 2
    assert [d.count for d in decisions[:5]] == [1, 2, 3, 4, 5]
    assert decisions[0].retry_after == 0
    assert 0 < decisions[-1].retry_after <= 30
    assert limiter.hit("user-2").admitted, "each key has its own budget"
    with pytest.raises(RateLimitExceededError, match="5 per 30 s") as info:
        limiter.check("user-1")
    assert 0 < info.value.retry_after <= 30
    limiter.check("user-3")  # admitted: no exception


def test_rate_limiter_is_exact_under_concurrency(cache: RedisCache, make_cache: Callable[..., RedisCache]) -> None:
    # Three clients with their own pools (as three processes would have) share one budget.
    clients = [cache, make_cache(namespace=cache.space.prefix), make_cache(namespace=cache.space.prefix)]
    limiters = [c.rate_limiter("burst", limit=37, window=120) for c in clients]
    start = threading.Barrier(24)

    def hammer(worker: int) -> int:
        start.wait(timeout=60)
        limiter = limiters[worker % len(limiters)]
        return sum(limiter.hit("shared").admitted for _ in range(10))

    with ThreadPoolExecutor(max_workers=24) as pool:
        admitted = sum(pool.map(hammer, range(24)))
    assert admitted == 37, "240 concurrent calls, exactly the limit admitted"
    assert not limiters[0].hit("shared").admitted


def test_rate_limiter_window_slides(cache: RedisCache) -> None:
    limiter = cache.rate_limiter("slide", limit=2, window=2)
    assert limiter.hit().admitted
    assert limiter.hit().admitted
    refused = limiter.hit()
    assert not refused.admitted
    assert 0 < refused.retry_after <= 2
    eventually(lambda: limiter.hit().admitted, "a slot to free once the oldest call leaves the 2 s window")


@pytest.mark.parametrize(("limit", "window"), [(0, 1.0), (-1, 1.0), (5, 0), (5, -1), (2.5, 1.0), (True, 1.0)])
def test_rate_limiter_bad_settings(cache: RedisCache, limit: int, window: float) -> None:
    with pytest.raises(InvalidInputError):
        cache.rate_limiter("x", limit=limit, window=window)


def test_lock_is_exclusive_and_released_by_its_owner(cache: RedisCache) -> None:
    first = cache.lock("resource", ttl=10)
    second = cache.lock("resource", ttl=10)
    assert first.acquire()
    assert first.owned()
    assert not second.acquire(blocking=False)
    assert not second.owned()
    assert first.locked()
    assert second.locked(), "locked() tells whether anyone holds it"
    first.release()
    assert not first.owned()
    assert second.acquire(blocking=False)
    second.release()
    assert not second.locked()


def test_a_non_owner_cannot_release(cache: RedisCache) -> None:
    holder = cache.lock("job", ttl=0.3)
    assert holder.acquire()
    newcomer = cache.lock("job", ttl=30)
    assert newcomer.acquire(blocking_timeout=15), "the holder's lock expires after 0.3 s"
    with pytest.raises(LockNotOwnedError, match="expired or was taken"):
        holder.release()
    assert newcomer.owned(), "the failed release did not remove the new owner's lock"
    with pytest.raises(LockNotOwnedError, match="not held"):
        cache.lock("job").release()
    with pytest.raises(LockNotOwnedError, match="not held"):
        cache.lock("job").extend()
    newcomer.release()


def test_extend_keeps_the_lock_and_fails_once_lost(cache: RedisCache) -> None:
    lock = cache.lock("long", ttl=5)
    assert lock.acquire()
    lock.extend(60)
    ttl_ms = cache.client.pttl(lock.key)
    assert isinstance(ttl_ms, int)
    assert ttl_ms > 30_000
    with pytest.raises(InvalidInputError, match="ttl"):
        lock.extend(0)
    with pytest.raises(InvalidInputError, match="ttl"):
        lock.extend(-1)
    assert lock.owned(), "a refused extend leaves the lock as it was"
    cache.client.set(lock.key, "someone-else")  # another holder took over after an expiry
    with pytest.raises(LockNotOwnedError):
        lock.extend()
    assert cache.client.get(lock.key) == b"someone-else"


def test_lock_under_contention_loses_no_update(cache: RedisCache, make_cache: Callable[..., RedisCache]) -> None:
    clients = [cache, make_cache(namespace=cache.space.prefix)]
    cache.kv.set("counter", "0")
    errors: list[BaseException] = []

    def worker(client: RedisCache) -> None:
        try:
            for _ in range(25):
                with client.lock("counter-lock", ttl=30, blocking_timeout=60):
                    value = int(client.kv.get_text("counter") or "0")
                    client.kv.set("counter", str(value + 1))  # read-modify-write: only safe under the lock
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(clients[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(100)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert cache.kv.get_text("counter") == "200", "8 threads x 25 increments, none lost"
    assert not cache.lock("counter-lock").locked()


def test_lock_timeout(cache: RedisCache) -> None:
    held = cache.lock("busy", ttl=30)
    assert held.acquire()
    with pytest.raises(LockTimeoutError, match=r"not acquired within 0\.2 s"), cache.lock("busy", blocking_timeout=0.2):
        pass
    assert not cache.lock("busy").acquire(blocking_timeout=0)
    held.release()


def test_a_lock_lost_inside_the_block_is_reported(cache: RedisCache) -> None:
    with pytest.raises(LockNotOwnedError), cache.lock("fragile", ttl=30) as lock:
        cache.client.delete(lock.key)  # as if it expired while the work ran
    # An error from the block itself wins over the lost lock, and the lock is still released.
    with pytest.raises(KeyError), cache.lock("fragile", ttl=30):
        raise KeyError("from the block")
    assert not cache.lock("fragile").locked()


def test_bad_lock_settings(cache: RedisCache) -> None:
    for ttl in (0, -1, float("nan")):
        with pytest.raises(InvalidInputError, match="ttl"):
            cache.lock("x", ttl=ttl)
    with pytest.raises(InvalidInputError, match="ttl"):
        cache.lock("x", ttl=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="timeout"):
        cache.lock("x", blocking_timeout=-1)
    with pytest.raises(InvalidInputError, match="non-empty"):
        cache.lock("")
    lock = cache.lock("x")
    assert lock.acquire()
    with pytest.raises(InvalidInputError, match="already held"):
        lock.acquire()
    lock.release()
