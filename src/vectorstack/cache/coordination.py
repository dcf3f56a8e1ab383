"""Rate limits and locks that stay exact when many processes use them at once (atomic on the server).

The lock is redis-py's own `Lock`; the rate limiter is ours (redis-py has none).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from redis.exceptions import LockNotOwnedError as RedisLockNotOwnedError
from redis.lock import Lock

import redis
from vectorstack.cache.connection import check_flag, check_key, check_seconds, check_ttl, translated
from vectorstack.cache.values import Namespace
from vectorstack.errors import InvalidInputError, LockNotOwnedError, LockTimeoutError, RateLimitExceededError

# Sliding-window log: one sorted-set member per admitted call, scored by the time it was admitted. The
# script runs atomically, so no two callers can both see "limit - 1" and both be admitted. Server time
# (TIME), not the callers' clocks, decides the window, so clients with skewed clocks share one exact
# limit. A call id already in the log means redis-py retried a call whose reply was lost: it was
# admitted once and is not counted twice. Returns {admitted, count, retry_after_ms}.
_RATE_LIMIT = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - window)
local count = redis.call('ZCARD', KEYS[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then
  return {1, count, 0}
end
if count < limit then
  redis.call('ZADD', KEYS[1], now_ms, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, count + 1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, count, tonumber(oldest[2]) + window - now_ms}
"""
# redis-py's Lock acquires with a plain SET NX PX; our client retries a command whose reply was lost, and
# that retry would find its own token and wait for its own lock to expire. This acquire, the one thing
# redis-py's Lock lets a subclass replace, counts its own token as acquired. Same key, same token: a
# redis-py Lock on the same name is the same lock.
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
"""
# Waiters poll (redis-py's Lock has no queue, so the order is not fair); 20 ms keeps a handed-over lock
# idle for little time without flooding the server with polls.
_POLL_SECONDS = 0.02


@dataclass(frozen=True)
class RateDecision:
    admitted: bool
    count: int
    retry_after: float  # seconds until a slot frees up (0 when admitted)


class RateLimiter:
    """At most `limit` calls per `window` seconds per key, across every client of the server."""

    def __init__(self, space: Namespace, name: str, *, limit: int, window: float) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidInputError(f"rate limit must be a whole number of calls >= 1, got {limit!r}")
        if window is None:
            raise InvalidInputError("a rate limit needs a window in seconds, e.g. window=1.0")
        try:
            self.window_ms: int = check_ttl(window) or 1
        except InvalidInputError as exc:
            raise InvalidInputError(f"rate limit window must be > 0 seconds, got {window!r}") from exc
        self.space = space
        self.name = check_key(name)
        self.limit = limit
        self.window = window
        self._script = space.client.register_script(_RATE_LIMIT)

    def hit(self, key: str = "default") -> RateDecision:
        """Count one call against `key`'s budget if there is room; refused calls are not counted."""
        with translated(self.space.config):
            admitted, count, retry_ms = self._script(
                keys=[self.space.key("rate", self.name, key)], args=[self.window_ms, self.limit, uuid.uuid4().hex]
            )
        return RateDecision(bool(admitted), int(count), max(int(retry_ms), 0) / 1000)

    def check(self, key: str = "default") -> None:
        """Like `hit`, but raises RateLimitExceededError (with retry_after) when refused."""
        decision = self.hit(key)
        if not decision.admitted:
            raise RateLimitExceededError(f"{self.name}/{key}", self.limit, self.window, decision.retry_after)


class _RetrySafeLock(Lock):
    """redis-py's Lock with a retry-safe acquire (see _ACQUIRE); release, extend and reacquire are its own."""

    def __init__(self, client: redis.Redis, name: str, **options: Any) -> None:
        super().__init__(client, name, **options)
        self._acquire_script = client.register_script(_ACQUIRE)

    def do_acquire(self, token: str | bytes) -> bool:
        ttl_ms = max(1, round(float(self.timeout or 0) * 1000))
        return bool(self._acquire_script(keys=[self.name], args=[token, ttl_ms]))


class DistributedLock:
    """redis-py's Lock under this namespace's key (`<prefix>lock:<name>`), always with an expiry so a
    crashed holder cannot block forever, raising the library's errors.

    `ttl` is how long the lock lives unless extended; `blocking_timeout` how long `acquire` and `with`
    wait for it (redis-py's names: `timeout` and `blocking_timeout`). The token belongs to this object,
    not to a thread: one lock object is one holder, and acquiring it twice without a release is an error.
    """

    def __init__(self, space: Namespace, name: str, *, ttl: float = 10.0, blocking_timeout: float = 10.0) -> None:
        if ttl is None:
            raise InvalidInputError("a lock needs a ttl: without one a crashed holder would block everyone forever")
        self.space = space
        self.name = check_key(name)
        self.key = space.key("lock", name)
        self.ttl_ms: int = check_ttl(ttl) or 1
        self.blocking_timeout = check_seconds(blocking_timeout, "lock blocking_timeout")
        self.redis_lock = _RetrySafeLock(
            space.client,
            self.key,
            timeout=self.ttl_ms / 1000,
            sleep=_POLL_SECONDS,
            blocking_timeout=self.blocking_timeout,
            thread_local=False,
        )

    def _held(self) -> bool:
        return self.redis_lock.local.token is not None

    def acquire(self, *, blocking: bool = True, blocking_timeout: float | None = None) -> bool:
        """True once held; False if not acquired within `blocking_timeout` seconds (default: the lock's own)."""
        check_flag(blocking, "blocking")
        if self._held():
            raise InvalidInputError(f"lock {self.name!r} is already held by this object; release it first")
        wait = self.blocking_timeout if blocking_timeout is None else check_seconds(blocking_timeout, "lock timeout")
        with translated(self.space.config):
            return bool(self.redis_lock.acquire(blocking=blocking, blocking_timeout=wait))

    def release(self) -> None:
        if not self._held():
            raise LockNotOwnedError(f"lock {self.name!r} is not held by this object; acquire it first")
        with translated(self.space.config):  # the try inside: translated() would make a LockError a ServerError
            try:
                self.redis_lock.release()
            except RedisLockNotOwnedError as exc:
                raise LockNotOwnedError(
                    f"lock {self.name!r} expired or was taken by another holder before release: the work it guarded "
                    "ran unprotected for a while; use a longer ttl or extend() it while working"
                ) from exc

    def extend(self, ttl: float | None = None) -> None:
        """Reset the expiry to `ttl` seconds from now (default: the lock's ttl); only while still the owner."""
        ttl_ms = self.ttl_ms if ttl is None else (check_ttl(ttl) or self.ttl_ms)
        if not self._held():
            raise LockNotOwnedError(f"lock {self.name!r} is not held by this object; acquire it first")
        with translated(self.space.config):
            try:
                self.redis_lock.extend(ttl_ms / 1000, replace_ttl=True)
            except RedisLockNotOwnedError as exc:
                self.redis_lock.local.token = None  # lost for good: a later release must not claim it
                raise LockNotOwnedError(
                    f"lock {self.name!r} expired or was taken by another holder; cannot extend it, acquire it again"
                ) from exc

    def reacquire(self) -> None:
        """Reset the expiry to the lock's own ttl (a heartbeat for long work); only while still the owner."""
        self.extend()

    def locked(self) -> bool:
        """Whether anyone (this library or any redis-py Lock on the same key) holds the lock now."""
        with translated(self.space.config):
            return self.redis_lock.locked()

    def owned(self) -> bool:
        """Whether this object still holds the lock (it may have expired while the work ran)."""
        if not self._held():
            return False
        with translated(self.space.config):
            return self.redis_lock.owned()

    def __enter__(self) -> DistributedLock:
        if not self.acquire():
            raise LockTimeoutError(
                f"lock {self.name!r} not acquired within {self.blocking_timeout:g} s: another holder has it; "
                "wait longer (blocking_timeout=) or find the holder that does not release it"
            )
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.release()  # a lock lost during the block is an error: the work ran unprotected
            return
        # The block already failed: report that failure, not a lost lock, but do not keep the lock.
        try:
            self.release()
        except LockNotOwnedError:
            if hasattr(exc, "add_note"):  # Python 3.11+
                exc.add_note(f"the lock {self.name!r} had also expired before release")
