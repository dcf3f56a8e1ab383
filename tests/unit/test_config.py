"""Redis settings from environment variables (and from code), without a server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vectorstack.config import KafkaConfig, MilvusConfig, RedisConfig, S3Config
from vectorstack.errors import InvalidInputError


def test_defaults_when_nothing_is_set() -> None:
    config = RedisConfig.from_env({})
    assert (config.host, config.port, config.db, config.password, config.username) == ("127.0.0.1", 6379, 0, None, None)
    assert (config.tls, config.tls_ca_file, config.timeout, config.retries) == (False, None, 5.0, 2)
    assert config.address == "127.0.0.1:6379"


def test_separate_variables() -> None:
    config = RedisConfig.from_env(
        {
            "REDIS_HOST": "cache.internal",
            "REDIS_PORT": "6380",
            "REDIS_PASSWORD": "s3cret",
            "REDIS_USERNAME": "app",
            "REDIS_DB": "3",
            "REDIS_TLS": "TRUE",
            "REDIS_TLS_CA_FILE": "/etc/ca.pem",
            "REDIS_TIMEOUT": "2.5",
            "REDIS_RETRIES": "0",
        }
    )
    assert (config.host, config.port, config.password, config.username, config.db) == (
        "cache.internal",
        6380,
        "s3cret",
        "app",
        3,
    )
    assert (config.tls, config.tls_ca_file, config.timeout, config.retries) == (True, "/etc/ca.pem", 2.5, 0)


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("true", True), ("on", True), ("0", False), ("no", False)])
def test_tls_flag_spellings(raw: str, expected: bool) -> None:
    assert RedisConfig.from_env({"REDIS_TLS": raw}).tls is expected


def test_url_wins_over_separate_variables() -> None:
    config = RedisConfig.from_env(
        {"REDIS_URL": "rediss://user:p%40ss@h:7000/2", "REDIS_HOST": "ignored", "REDIS_PORT": "1"}
    )
    assert (config.host, config.port, config.username, config.password, config.db, config.tls) == (
        "h",
        7000,
        "user",
        "p@ss",
        2,
        True,
    )


def test_url_without_credentials_takes_them_from_their_variables() -> None:
    config = RedisConfig.from_env(
        {"REDIS_URL": "redis://127.0.0.1:6390", "REDIS_PASSWORD": "pw", "REDIS_USERNAME": "u", "REDIS_TIMEOUT": "1"}
    )
    assert (config.host, config.port, config.password, config.username, config.db, config.tls) == (
        "127.0.0.1",
        6390,
        "pw",
        "u",
        0,
        False,
    )
    assert config.timeout == 1.0


def test_the_password_never_shows_in_repr() -> None:
    config = RedisConfig.from_env({"REDIS_URL": "redis://:hunter2secret@h:1/0"})
    assert config.password == "hunter2secret"
    assert "hunter2secret" not in repr(config)
    assert "hunter2secret" not in str(config)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"REDIS_PORT": "abc"}, "REDIS_PORT"),
        ({"REDIS_PORT": "0"}, "REDIS_PORT"),
        ({"REDIS_PORT": "70000"}, "REDIS_PORT"),
        ({"REDIS_PORT": "63.5"}, "REDIS_PORT"),
        ({"REDIS_DB": "-1"}, "REDIS_DB"),
        ({"REDIS_DB": "one"}, "REDIS_DB"),
        ({"REDIS_TLS": "maybe"}, "REDIS_TLS"),
        ({"REDIS_TIMEOUT": "0"}, "REDIS_TIMEOUT"),
        ({"REDIS_TIMEOUT": "soon"}, "REDIS_TIMEOUT"),
        ({"REDIS_RETRIES": "-2"}, "REDIS_RETRIES"),
        ({"REDIS_URL": "http://h"}, "REDIS_URL"),
        ({"REDIS_URL": "redis://h:99999"}, "REDIS_URL"),
        ({"REDIS_URL": "redis://h:1/db"}, "REDIS_URL"),
    ],
)
def test_invalid_values_name_their_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(InvalidInputError, match=variable):
        RedisConfig.from_env(env)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"host": ""}, "host"),
        ({"port": 0}, "port"),
        ({"port": 65536}, "port"),
        ({"db": -1}, "database"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1.0}, "timeout"),
        ({"retries": -1}, "retries"),
    ],
)
def test_a_config_built_in_code_is_checked_too(kwargs: dict[str, object], word: str) -> None:
    with pytest.raises(InvalidInputError, match=word):
        RedisConfig(**kwargs)  # type: ignore[arg-type]


def test_from_env_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_HOST", "10.1.2.3")
    monkeypatch.setenv("REDIS_PORT", "6411")
    config = RedisConfig.from_env()
    assert (config.host, config.port) == ("10.1.2.3", 6411)


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), True, "5"])
@pytest.mark.parametrize(
    ("build", "variable"),
    [
        (lambda t: RedisConfig(timeout=t), "REDIS_TIMEOUT"),
        (lambda t: MilvusConfig(timeout=t), "MILVUS_TIMEOUT"),
        (lambda t: KafkaConfig(timeout=t), "KAFKA_TIMEOUT"),
        (lambda t: S3Config(timeout=t), "S3_TIMEOUT"),
    ],
    ids=["redis", "milvus", "kafka", "s3"],
)
def test_every_config_refuses_a_timeout_that_is_not_finite_and_positive(
    build: Callable[[object], object], variable: str, timeout: object
) -> None:
    """Issue 16, item 4: one rule (config.check_timeout) for every client; Kafka and S3 took any value."""
    with pytest.raises(InvalidInputError, match=rf"timeout must be > 0 seconds and finite, got .*; check {variable}"):
        build(timeout)


@pytest.mark.parametrize("retries", [-1, 1.5, True, None])
@pytest.mark.parametrize(
    ("build", "variable"),
    [
        (lambda r: RedisConfig(retries=r), "REDIS_RETRIES"),
        (lambda r: MilvusConfig(retries=r), "MILVUS_RETRIES"),
        (lambda r: S3Config(retries=r), "S3_RETRIES"),
    ],
    ids=["redis", "milvus", "s3"],
)
def test_every_config_refuses_bad_retries(build: Callable[[object], object], variable: str, retries: object) -> None:
    with pytest.raises(InvalidInputError, match=rf"retries must be a whole number >= 0, got .*; check {variable}"):
        build(retries)


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf"])
@pytest.mark.parametrize("variable", ["REDIS_TIMEOUT", "REDIS_RETRIES", "REDIS_PORT", "REDIS_DB"])
def test_a_non_finite_number_in_a_variable_is_refused_naming_it(variable: str, raw: str) -> None:
    """`env_int` raised a plain OverflowError/ValueError for inf/nan; `env_number` let nan through."""
    with pytest.raises(InvalidInputError, match=f"{variable}='{raw}' must be a finite number"):
        RedisConfig.from_env({variable: raw})
