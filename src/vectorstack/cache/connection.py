"""One Redis connection pool per cache, and the translation of redis-py errors into the library's own."""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, TypeVar

from redis.backoff import ExponentialBackoff
from redis.exceptions import AuthenticationError as RedisAuthError
from redis.exceptions import (
    ClusterDownError,
    DataError,
    MasterDownError,
    NoPermissionError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

import redis
from vectorstack.config import RedisConfig
from vectorstack.errors import (
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    ServiceUnavailableError,
)
from vectorstack.tracking import Tracker, tracked

T = TypeVar("T")
_CREDENTIALS_HINT = "check REDIS_PASSWORD/REDIS_USERNAME (or the credentials in REDIS_URL)"
# The server's state, not the caller's arguments: another server, or later, may succeed. redis-py has
# types for most (LOADING is its BusyLoadingError, a ConnectionError: unavailable); the rest by error code.
_SERVER_STATE_ERRORS = (OutOfMemoryError, ReadOnlyError, MasterDownError, ClusterDownError, TryAgainError)
_SERVER_STATE_CODES = frozenset({"BUSY", "MISCONF"})


class TrackedRedis(redis.Redis):
    """Times every command (by name) and every pipeline in the given tracker."""

    tracker: Tracker | None = None

    def execute_command(self, *args: Any, **options: Any) -> Any:
        if self.tracker is None:
            return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        with tracked(self.tracker, "redis", str(args[0]).lower() if args else "command"):
            return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        pipe = super().pipeline(transaction, shard_hint)
        tracker = self.tracker
        run = pipe.execute

        def execute(raise_on_error: bool = True) -> Any:
            with tracked(tracker, "redis", "pipeline"):
                return run(raise_on_error)

        pipe.execute = execute  # type: ignore[method-assign]
        return pipe


class _RetryButNotCredentials(Retry):
    """redis-py counts a refused password as a connection error and retries it with backoff; a wrong
    password stays wrong, so give up at once and let the caller see AuthenticationError quickly."""

    def call_with_retry(self, do: Callable[[], T], fail: Callable[..., Any], *args: Any, **kwargs: Any) -> T:
        def fail_fast(error: Exception, *rest: Any) -> Any:
            result = fail(error, *rest)
            if isinstance(error, RedisAuthError):
                raise error
            return result

        return super().call_with_retry(do, fail_fast, *args, **kwargs)


def connect(config: RedisConfig, tracker: Tracker | None = None) -> redis.Redis:
    """A client whose every call gives up within `config.timeout` per attempt, after `config.retries` quick
    retries on a dropped connection or timeout.

    RESP2 is pinned: redis-py 8 switched its default to RESP3, which changes the shape of several replies
    (streams, sorted sets); pinning keeps every supported redis-py version answering alike.
    """
    client = TrackedRedis(
        host=config.host,
        port=config.port,
        db=config.db,
        username=config.username,
        password=config.password,
        ssl=config.tls,
        ssl_ca_certs=config.tls_ca_file,
        socket_timeout=config.timeout,
        socket_connect_timeout=config.timeout,
        health_check_interval=30,
        retry=_RetryButNotCredentials(ExponentialBackoff(cap=0.5, base=0.05), config.retries),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        protocol=2,
    )
    client.tracker = tracker
    return client


class _Translated:
    """A class, not @contextmanager: it wraps every command, and a generator per call costs microseconds."""

    __slots__ = ("config",)

    def __init__(self, config: RedisConfig) -> None:
        self.config = config

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if isinstance(exc, RedisError):
            raise _translate(self.config, exc) from exc


def translated(config: RedisConfig) -> contextlib.AbstractContextManager[None]:
    """Raise the library's exceptions for redis-py's, keeping redis-py's as the cause."""
    return _Translated(config)


def _translate(config: RedisConfig, exc: RedisError) -> Exception:
    if isinstance(exc, RedisAuthError):
        return AuthenticationError(f"redis at {config.address} refused the credentials: {exc}; {_CREDENTIALS_HINT}")
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        return ServiceUnavailableError(
            "redis", config.address, config.timeout, exc, "Is Redis running? Check REDIS_HOST/REDIS_PORT (or REDIS_URL)"
        )
    if isinstance(exc, NoPermissionError):
        return PermissionDeniedError(
            f"the Redis user may not run this command or touch this key: {exc}; grant it with ACL SETUSER"
        )
    if isinstance(exc, ResponseError):
        return _response_error(config, exc)
    if isinstance(exc, DataError):
        return InvalidInputError(f"redis-py refused the argument: {exc}")
    return ServerError(f"redis at {config.address} failed: {exc}")


def reply_code(exc: ResponseError) -> str:
    """The error code of a Redis error reply: its first word by the protocol (`NOGROUP No such key ...`)."""
    return str(exc).split(" ", 1)[0]


def _response_error(config: RedisConfig, exc: ResponseError) -> Exception:
    code = reply_code(exc)
    if isinstance(exc, _SERVER_STATE_ERRORS) or code in _SERVER_STATE_CODES:
        return ServerError(f"redis at {config.address} cannot serve this now: {exc}")
    if code == "NOGROUP":
        return NotFoundError(f"no such stream or consumer group: {exc}; create the group first (ensure_group)")
    if code == "WRONGTYPE":
        return InvalidInputError(f"the key holds another kind of value than this operation needs: {exc}")
    return InvalidInputError(f"redis refused the command: {exc}")


def check_ttl(ttl: float | None) -> int | None:
    """TTL in milliseconds; None means no expiry. Zero or negative would delete at once: refused."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or math.isnan(ttl):
        raise InvalidInputError(f"ttl must be a number of seconds, got {ttl!r}")
    if ttl <= 0:
        raise InvalidInputError(f"ttl must be greater than zero seconds, got {ttl!r}; pass None for no expiry")
    if math.isinf(ttl):
        raise InvalidInputError("ttl must be finite; pass None for no expiry")
    return max(1, round(ttl * 1000))


def check_seconds(value: float, what: str, *, allow_zero: bool = True) -> float:
    """A finite, non-negative duration (a blocking timeout, an idle time)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInputError(f"{what} must be a finite number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidInputError(f"{what} must be {'>= 0' if allow_zero else '> 0'} seconds, got {value!r}")
    return float(value)


def check_count(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{what} must be a whole number >= 1, got {value!r}")
    return value


def check_key(key: str) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidInputError(f"keys must be non-empty strings, got {key!r}")
    return key


def check_keys(keys: Iterable[str], what: str = "keys") -> list[str]:
    """A list of keys, each checked; a lone str (iterating it would give one key per character) is refused."""
    if isinstance(keys, str | bytes) or not isinstance(keys, Iterable):
        raise InvalidInputError(f"{what} must be a list (or other iterable) of strings, got {type(keys).__name__}")
    return [check_key(key) for key in keys]


def check_flag(value: bool, what: str) -> bool:
    """True or False only: a truthy string such as "no" would silently mean yes."""
    if not isinstance(value, bool):
        raise InvalidInputError(f"{what} must be True or False, got {value!r}")
    return value


def check_number(value: float, what: str) -> float:
    """Any real number but NaN (infinities are allowed: they are the open ends of a range)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidInputError(f"{what} must be a number, got {value!r}")
    return float(value)


_ENTRY_ID = re.compile(r"\d+(-\d+)?\Z")


def check_entry_id(entry_id: str) -> str:
    """A stream entry id as Redis writes them: `<ms>-<seq>` (or `<ms>`)."""
    if not isinstance(entry_id, str) or not _ENTRY_ID.match(entry_id):
        raise InvalidInputError(f"stream entry ids look like '1700000000000-0' (as add() returns), got {entry_id!r}")
    return entry_id


def queue_set(pipe: redis.client.Pipeline, items: Iterable[tuple[str, bytes]], px: int | None) -> None:
    """Queue SET key value [PX ms] for each item. execute_command, not pipe.set(): redis-py 8 wraps set()
    in a check of its experimental arguments that cost, per key, about as much as packing the command."""
    command: Callable[..., Any] = pipe.execute_command
    if px is None:
        for key, value in items:
            command("SET", key, value)
    else:
        for key, value in items:
            command("SET", key, value, "PX", px)
