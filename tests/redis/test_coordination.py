"""Rate limiter and distributed lock, with many threads at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from vectorstack.cache import RedisCache
from vectorstack.errors import InvalidInputError, LockNotOwnedError, LockTimeoutError, RateLimitExceededError

from .conftest import eventually

pytestmark = [pytest.mark.integration, pytest.mark.redis]


def test_rate_limiter_admits_exactly_the_limit(cache: RedisCache) -> None:
    limiter = cache.rate_limiter("api", limit=5, window=30)
    decisions = [limiter.hit("user-1") for _ in range(7)]
    assert [d.admitted for d in decisions] == [True] * 5 + [False] * 2
    assert 0 < decisions[-1].retry_after <= 30
    assert limiter.hit("user-2").admitted, "each key has its own budget"
    with pytest.raises(RateLimitExceededError, match="5 per 30 s"):
        limiter.check("user-1")


def test_rate_limiter_is_exact_under_concurrency(cache: RedisCache) -> None:
    limiter = cache.rate_limiter("burst", limit=37, window=60)
    with ThreadPoolExecutor(max_workers=20) as pool:
        admitted = sum(pool.map(lambda _: limiter.hit("shared").admitted, range(200)))
    assert admitted == 37


def test_rate_limiter_window_slides(cache: RedisCache) -> None:
    limiter = cache.rate_limiter("slide", limit=2, window=0.3)
    assert limiter.hit().admitted
    assert limiter.hit().admitted
    assert not limiter.hit().admitted
    assert eventually(lambda: limiter.hit().admitted)


@pytest.mark.parametrize(("limit", "window"), [(0, 1.0), (5, 0), (5, -1), (2.5, 1.0)])
def test_rate_limiter_bad_settings(cache: RedisCache, limit: int, window: float) -> None:
    with pytest.raises(InvalidInputError):
        cache.rate_limiter("x", limit=limit, window=window)


def test_lock_is_exclusive_and_released_by_its_owner(cache: RedisCache) -> None:
    first = cache.lock("resource", ttl=10)
    second = cache.lock("resource", ttl=10)
    assert first.acquire()
    assert not second.acquire(blocking=False)
    assert first.locked()
    first.release()
    assert second.acquire(blocking=False)
    second.release()
    assert not second.locked()


def test_a_non_owner_cannot_release(cache: RedisCache) -> None:
    holder = cache.lock("job", ttl=0.3)
    assert holder.acquire()
    newcomer = cache.lock("job", ttl=10)
    assert newcomer.acquire(timeout=10), "the holder's lock expires after 0.3 s"
    with pytest.raises(LockNotOwnedError, match="expired or was taken"):
        holder.release()
    assert newcomer.locked(), "the failed release did not remove the new owner's lock"
    with pytest.raises(LockNotOwnedError, match="not held"):
        cache.lock("job").release()
    newcomer.release()


def test_extend_keeps_the_lock_and_fails_once_lost(cache: RedisCache) -> None:
    lock = cache.lock("long", ttl=0.5)
    assert lock.acquire()
    lock.extend(30)
    ttl_ms = cache.client.pttl(lock.key)
    assert isinstance(ttl_ms, int)
    assert ttl_ms > 10_000
    cache.client.set(lock.key, "someone-else")
    with pytest.raises(LockNotOwnedError):
        lock.extend()


def test_lock_under_contention_loses_no_update(cache: RedisCache) -> None:
    cache.kv.set("counter", "0")
    errors: list[Exception] = []

    def worker() -> None:
        try:
            for _ in range(25):
                with cache.lock("counter-lock", ttl=5, timeout=30):
                    value = int(cache.kv.get_text("counter") or "0")
                    cache.kv.set("counter", str(value + 1))  # read-modify-write: only safe under the lock
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert cache.kv.get_text("counter") == "200"


def test_lock_timeout(cache: RedisCache) -> None:
    held = cache.lock("busy", ttl=30)
    assert held.acquire()
    with pytest.raises(LockTimeoutError, match=r"not acquired within 0\.2 s"), cache.lock("busy", timeout=0.2):
        pass
    held.release()
