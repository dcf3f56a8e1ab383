"""One Redis connection pool per cache, and the translation of redis-py errors into the library's own."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from redis.backoff import ExponentialBackoff
from redis.exceptions import AuthenticationError as RedisAuthError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

import redis
from vectorstack.config import RedisConfig
from vectorstack.errors import AuthenticationError, InvalidInputError, ServiceUnavailableError
from vectorstack.tracking import Tracker, tracked

_AUTH_REPLIES = ("NOAUTH", "WRONGPASS", "invalid password", "invalid username-password")


class TrackedRedis(redis.Redis):
    """Times every command (by name) and every pipeline in the given metrics."""

    metrics: Tracker | None = None

    def execute_command(self, *args: Any, **options: Any) -> Any:
        with tracked(self.metrics, "redis", str(args[0]).lower() if args else "command"):
            return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        pipe = super().pipeline(transaction, shard_hint)
        metrics = self.metrics
        run = pipe.execute

        def execute(raise_on_error: bool = True) -> Any:
            with tracked(metrics, "redis", "pipeline"):
                return run(raise_on_error)

        pipe.execute = execute  # type: ignore[method-assign]
        return pipe


def connect(config: RedisConfig, metrics: Tracker | None = None) -> redis.Redis:
    """A client whose every call gives up within `config.timeout` (plus `config.retries` quick retries)."""
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
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), config.retries),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
    client.metrics = metrics
    return client


@contextlib.contextmanager
def translated(config: RedisConfig) -> Iterator[None]:
    """Raise the library's exceptions for redis-py's, keeping redis-py's as the cause."""
    try:
        yield
    except RedisAuthError as exc:
        raise AuthenticationError(f"redis at {config.address} refused the credentials: {exc}") from exc
    except (RedisConnectionError, RedisTimeoutError) as exc:
        if any(reply in str(exc) for reply in _AUTH_REPLIES):
            raise AuthenticationError(f"redis at {config.address} refused the credentials: {exc}") from exc
        raise ServiceUnavailableError(
            "redis", config.address, config.timeout, exc, "Is Redis running? Check REDIS_HOST/REDIS_PORT (or REDIS_URL)"
        ) from exc
    except ResponseError as exc:
        if any(reply in str(exc) for reply in _AUTH_REPLIES):
            raise AuthenticationError(f"redis at {config.address} needs a valid password: {exc}") from exc
        raise InvalidInputError(f"redis refused the command: {exc}") from exc


def check_ttl(ttl: float | None) -> int | None:
    """TTL in milliseconds; None means no expiry. Zero or negative would delete at once: refused."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl != ttl:
        raise InvalidInputError(f"ttl must be a number of seconds, got {ttl!r}")
    if ttl <= 0:
        raise InvalidInputError(f"ttl must be greater than zero seconds, got {ttl!r}; pass None for no expiry")
    return max(1, round(ttl * 1000))


def check_key(key: str) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidInputError(f"keys must be non-empty strings, got {key!r}")
    return key
