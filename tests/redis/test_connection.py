"""Connecting: settings from the harness, unreachable and hung servers, credentials and permissions."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

import redis
from vectorstack.cache import RedisCache
from vectorstack.config import RedisConfig
from vectorstack.errors import (
    AuthenticationError,
    BatchWriteError,
    InvalidInputError,
    PermissionDeniedError,
    ServiceUnavailableError,
)

from .conftest import RedisService, UniqueName

pytestmark = [pytest.mark.integration, pytest.mark.redis]

MARGIN_S = 5.0  # scheduling slack on a busy shared machine; the bounds below are still far from a hang


def test_config_comes_from_the_exported_variables(redis_service: RedisService, redis_config: RedisConfig) -> None:
    assert (redis_config.host, redis_config.port) == (redis_service.host, redis_service.port)
    assert redis_config.host == "127.0.0.1"
    if redis_config.password:
        assert redis_config.password not in repr(redis_config)


def test_unreachable_server_fails_within_the_timeout(closed_port: int) -> None:
    config = RedisConfig(host="127.0.0.1", port=closed_port, timeout=1.0, retries=1)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError, match=r"redis at 127\.0\.0\.1:\d+ unreachable after 1 s") as info:
        RedisCache(config)
    elapsed = time.monotonic() - started
    assert elapsed < config.timeout * (config.retries + 1) + MARGIN_S
    assert info.value.__cause__ is not None, "redis-py's error is chained"
    assert "Check REDIS_HOST/REDIS_PORT" in str(info.value)
    assert (info.value.service, info.value.address) == ("redis", f"127.0.0.1:{closed_port}")


def test_a_server_that_never_answers_times_out(silent_server: int) -> None:
    config = RedisConfig(host="127.0.0.1", port=silent_server, timeout=0.5, retries=0)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError, match=r"unreachable after 0\.5 s"):
        RedisCache(config)
    elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < config.timeout + MARGIN_S, "it waited for the timeout, and not much longer"


def _without_password(config: RedisConfig, password: str | None) -> RedisConfig:
    return RedisConfig(host=config.host, port=config.port, db=config.db, password=password, timeout=config.timeout)


def test_wrong_password_is_refused_quickly(redis_config: RedisConfig) -> None:
    if not redis_config.password:
        pytest.skip("this server has no password (REDIS_PASSWORD unset), so there is nothing to refuse")
    started = time.monotonic()
    with pytest.raises(AuthenticationError, match=r"refused the credentials.*REDIS_PASSWORD") as info:
        RedisCache(_without_password(redis_config, "wrong-" + redis_config.password))
    assert info.value.__cause__ is not None
    assert redis_config.password not in str(info.value), "the real password never appears in an error"
    with pytest.raises(AuthenticationError):
        RedisCache(_without_password(redis_config, None))
    assert time.monotonic() - started < 2 * MARGIN_S, "a wrong password is not retried with backoff"


@pytest.fixture
def restricted_user(redis_config: RedisConfig, unique_name: UniqueName) -> Iterator[Callable[[str], RedisConfig]]:
    """A per-test ACL user that may only touch the key patterns it is given; deleted at teardown."""
    admin = RedisCache(redis_config, namespace=unique_name("acl"))
    names: list[str] = []

    def make(key_pattern: str) -> RedisConfig:
        name, password = unique_name("user"), secrets.token_hex(16)
        try:
            admin.client.acl_setuser(
                name, enabled=True, passwords=[f"+{password}"], keys=[key_pattern], commands=["+@all"]
            )
        except redis.exceptions.ResponseError as exc:  # the server refused (NOPERM, unknown command, ...)
            pytest.skip(f"this server does not allow ACL SETUSER ({exc}); permissions cannot be tested here")
        names.append(name)
        return RedisConfig(
            host=redis_config.host, port=redis_config.port, db=redis_config.db, username=name, password=password
        )

    yield make
    try:
        for name in names:
            admin.client.acl_deluser(name)
    finally:
        admin.close()


def test_refused_writes_are_named_and_nothing_else_is_lost(
    restricted_user: Callable[[str], RedisConfig], make_cache: Callable[..., RedisCache], unique_name: UniqueName
) -> None:
    namespace = unique_name("perm")
    limited = make_cache(restricted_user(f"{namespace}:vec:ok*"), namespace=namespace)
    limited.vectors.set("ok1", np.ones(2))
    with pytest.raises(PermissionDeniedError, match="ACL SETUSER") as single:
        limited.vectors.set("secret", np.ones(2))
    assert single.value.__cause__ is not None
    with pytest.raises(BatchWriteError) as info:
        limited.vectors.set_many({"ok2": np.ones(2), "no1": np.ones(2), "ok3": np.ones(2), "no2": np.ones(2)})
    assert info.value.failed_keys == ["no1", "no2"]
    assert info.value.written == 2
    assert [(f.first, f.last) for f in info.value.failed] == [(1, 1), (3, 3)]
    assert info.value.__cause__ is not None
    got = limited.vectors.get_many(["ok1", "ok2", "ok3"])
    kept = sorted(key for key, value in got.items() if value is not None)
    assert kept == ["ok1", "ok2", "ok3"], "the permitted writes of the batch were kept"


def test_a_cache_needs_a_namespace(redis_config: RedisConfig) -> None:
    with pytest.raises(InvalidInputError, match="namespace prefix is required"):
        RedisCache(redis_config, namespace="")
