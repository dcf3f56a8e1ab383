"""Rate limits and locks that stay exact when many processes use them at once (atomic Lua on the server)."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from types import TracebackType

from vectorstack.cache.connection import check_key, check_seconds, check_ttl, translated
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
# Acquire that is safe to retry: if a reply was lost after the SET succeeded, the retry finds its own
# token and reports success instead of waiting for its own lock to expire.
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


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


class DistributedLock:
    """A lock owned by a random token: expires after `ttl` so a crashed holder cannot block forever, and
    only its owner can release or extend it (compare-and-delete on the server)."""

    def __init__(self, space: Namespace, name: str, *, ttl: float = 10.0, timeout: float = 10.0) -> None:
        if ttl is None:
            raise InvalidInputError("a lock needs a ttl: without one a crashed holder would block everyone forever")
        self.space = space
        self.name = check_key(name)
        self.key = space.key("lock", name)
        self.ttl_ms: int = check_ttl(ttl) or 1
        self.timeout = check_seconds(timeout, "lock timeout")
        self.token: str | None = None
        self._acquire = space.client.register_script(_ACQUIRE)
        self._release = space.client.register_script(_RELEASE)
        self._extend = space.client.register_script(_EXTEND)

    def acquire(self, *, blocking: bool = True, timeout: float | None = None) -> bool:
        """True once held; False if not acquired within `timeout` seconds (default: the lock's own).

        Waiters poll with backoff from 5 ms to 100 ms: there is no queue, so the order is not fair.
        """
        if self.token is not None:
            raise InvalidInputError(f"lock {self.name!r} is already held by this object; release it first")
        token = secrets.token_hex(16)
        wait = self.timeout if timeout is None else check_seconds(timeout, "lock timeout")
        deadline = time.monotonic() + wait
        delay = 0.005
        while True:
            with translated(self.space.config):
                if self._acquire(keys=[self.key], args=[token, self.ttl_ms]):
                    self.token = token
                    return True
            if not blocking or time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def release(self) -> None:
        token, self.token = self.token, None
        if token is None:
            raise LockNotOwnedError(f"lock {self.name!r} is not held by this object")
        with translated(self.space.config):
            released = self._release(keys=[self.key], args=[token])
        if not released:
            raise LockNotOwnedError(f"lock {self.name!r} expired or was taken by another holder before release")

    def extend(self, ttl: float | None = None) -> None:
        """Reset the expiry to `ttl` seconds from now (default: the lock's ttl); only while still the owner."""
        ttl_ms = self.ttl_ms if ttl is None else (check_ttl(ttl) or self.ttl_ms)
        if self.token is None:
            raise LockNotOwnedError(f"lock {self.name!r} is not held by this object")
        with translated(self.space.config):
            ok = self._extend(keys=[self.key], args=[self.token, ttl_ms])
        if not ok:
            self.token = None
            raise LockNotOwnedError(f"lock {self.name!r} expired or was taken by another holder; cannot extend")

    def locked(self) -> bool:
        """Whether anyone holds the lock now."""
        with translated(self.space.config):
            return bool(self.space.client.exists(self.key))

    def owned(self) -> bool:
        """Whether this object still holds the lock (it may have expired while the work ran)."""
        if self.token is None:
            return False
        with translated(self.space.config):
            current = self.space.client.get(self.key)
        return current == self.token.encode()

    def __enter__(self) -> DistributedLock:
        if not self.acquire():
            raise LockTimeoutError(f"lock {self.name!r} not acquired within {self.timeout:g} s")
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
            if hasattr(exc, "add_note"):
                exc.add_note(f"the lock {self.name!r} had also expired before release")
