"""Connection settings per service, read from the same variables the test harness exports.

One set of names (REDIS_HOST, MILVUS_URI, ...) works for tests, for `testservices env`, and for a
deployment, so the code under test is configured exactly as in production.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from vectorstack.errors import InvalidInputError
from vectorstack.flags import FlagError, parse_flag


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def env_bool(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    try:
        return parse_flag(env, name, default)
    except FlagError as exc:
        raise InvalidInputError(str(exc)) from exc


def env_number(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise InvalidInputError(f"{name}={raw!r} is not a number") from exc
    if not math.isfinite(value):
        raise InvalidInputError(f"{name}={raw!r} must be a finite number")
    if value < minimum:
        raise InvalidInputError(f"{name}={raw!r} must be at least {minimum:g}")
    return value


def env_int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    value = env_number(env, name, default, minimum=minimum)
    if value != int(value):
        raise InvalidInputError(f"{name}={env.get(name)!r} must be a whole number")
    if maximum is not None and value > maximum:
        raise InvalidInputError(f"{name}={env.get(name)!r} must be at most {maximum}")
    return int(value)


def check_timeout(value: float, service: str, variable: str) -> float:
    """One rule for every client's timeout, checked where its config is built: a finite number of seconds
    above zero (a negative or NaN one reaches the driver as a deadline already passed, or as none at all)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise InvalidInputError(f"{service} timeout must be > 0 seconds and finite, got {value!r}; check {variable}")
    return value


def check_retries(value: int, service: str, variable: str) -> int:
    """A whole number of retries, zero or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError(f"{service} retries must be a whole number >= 0, got {value!r}; check {variable}")
    return value


def env_port(env: Mapping[str, str], name: str, default: int) -> int:
    return env_int(env, name, default, minimum=1, maximum=65535)


@dataclass(frozen=True)
class RedisConfig:
    """`timeout` bounds both connecting and each reply (seconds); `retries` quick reconnects follow a failure."""

    host: str = "127.0.0.1"
    port: int = 6379
    password: str | None = None
    username: str | None = None
    db: int = 0
    tls: bool = False
    tls_ca_file: str | None = None
    timeout: float = 5.0
    retries: int = 2

    def __post_init__(self) -> None:
        # Checked here too, not only in from_env: a config built in code fails where it is built,
        # not later inside redis-py with a less helpful message.
        if not self.host:
            raise InvalidInputError("Redis host must not be empty; set REDIS_HOST or REDIS_URL")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 1 <= self.port <= 65535:
            raise InvalidInputError(f"Redis port must be 1-65535, got {self.port!r}; check REDIS_PORT")
        if isinstance(self.db, bool) or not isinstance(self.db, int) or self.db < 0:
            raise InvalidInputError(f"Redis database must be a number >= 0, got {self.db!r}; check REDIS_DB")
        check_timeout(self.timeout, "Redis", "REDIS_TIMEOUT")
        check_retries(self.retries, "Redis", "REDIS_RETRIES")

    def __repr__(self) -> str:  # never show the password
        return f"RedisConfig(host={self.host!r}, port={self.port}, db={self.db}, tls={self.tls})"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RedisConfig:
        """REDIS_URL wins when set (a password or user missing from it comes from REDIS_PASSWORD /
        REDIS_USERNAME, so the URL can stay free of secrets); otherwise REDIS_HOST/REDIS_PORT/..."""
        env = _env(env)
        timeout = env_number(env, "REDIS_TIMEOUT", 5.0, minimum=0.001)
        retries = env_int(env, "REDIS_RETRIES", 2)
        tls_ca = env.get("REDIS_TLS_CA_FILE") or None
        url = env.get("REDIS_URL")
        if url:
            parsed = urlparse(url)
            if parsed.scheme not in ("redis", "rediss"):
                raise InvalidInputError(f"REDIS_URL must start with redis:// or rediss://, got {parsed.scheme!r}")
            try:
                port = parsed.port or 6379
            except ValueError as exc:
                raise InvalidInputError("REDIS_URL has an invalid port (use 1-65535)") from exc
            path = parsed.path.strip("/")
            if path and not path.isdigit():
                raise InvalidInputError(f"REDIS_URL database must be a number, got {path!r}")
            return cls(
                host=parsed.hostname or "127.0.0.1",
                port=port,
                password=unquote(parsed.password) if parsed.password else env.get("REDIS_PASSWORD") or None,
                username=unquote(parsed.username) if parsed.username else env.get("REDIS_USERNAME") or None,
                db=int(path or 0),
                tls=parsed.scheme == "rediss" or env_bool(env, "REDIS_TLS"),
                tls_ca_file=tls_ca,
                timeout=timeout,
                retries=retries,
            )
        return cls(
            host=env.get("REDIS_HOST") or "127.0.0.1",
            port=env_port(env, "REDIS_PORT", 6379),
            password=env.get("REDIS_PASSWORD") or None,
            username=env.get("REDIS_USERNAME") or None,
            db=env_int(env, "REDIS_DB", 0),
            tls=env_bool(env, "REDIS_TLS"),
            tls_ca_file=tls_ca,
            timeout=timeout,
            retries=retries,
        )


@dataclass(frozen=True)
class MilvusConfig:
    uri: str = "http://127.0.0.1:19530"
    token: str = ""
    db_name: str = ""
    timeout: float = 10.0
    retries: int = 3
    server_pem_path: str | None = None
    server_name: str | None = None

    def __post_init__(self) -> None:
        # As RedisConfig: a config built in code fails where it is built (a negative timeout would reach
        # pymilvus as a deadline already passed, or as "no deadline" for some calls).
        check_timeout(self.timeout, "Milvus", "MILVUS_TIMEOUT")
        check_retries(self.retries, "Milvus", "MILVUS_RETRIES")
        if not isinstance(self.uri, str) or not self.uri:
            raise InvalidInputError(f"Milvus uri must be a non-empty string, got {self.uri!r}; check MILVUS_URI")

    def __repr__(self) -> str:  # never show the token
        return f"MilvusConfig(uri={self.uri!r}, db_name={self.db_name!r})"

    @property
    def address(self) -> str:
        return self.uri.split("://", 1)[-1]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MilvusConfig:
        """MILVUS_URI wins; else MILVUS_HOST + MILVUS_PORT. MILVUS_TOKEN is `user:password` or an API key."""
        env = _env(env)
        uri = env.get("MILVUS_URI")
        tls = env_bool(env, "MILVUS_TLS")
        if not uri:
            scheme = "https" if tls else "http"
            uri = f"{scheme}://{env.get('MILVUS_HOST') or '127.0.0.1'}:{env_port(env, 'MILVUS_PORT', 19530)}"
        elif "://" not in uri:
            raise InvalidInputError(f"MILVUS_URI={uri!r} needs a scheme, e.g. http://127.0.0.1:19530")
        token = env.get("MILVUS_TOKEN") or ""
        if not token and env.get("MILVUS_USER"):
            token = f"{env['MILVUS_USER']}:{env.get('MILVUS_PASSWORD', '')}"
        return cls(
            uri=uri,
            token=token,
            db_name=env.get("MILVUS_DB_NAME", ""),
            timeout=env_number(env, "MILVUS_TIMEOUT", 10.0, minimum=0.001),
            retries=env_int(env, "MILVUS_RETRIES", 3),
            server_pem_path=env.get("MILVUS_SERVER_PEM_PATH") or None,
            server_name=env.get("MILVUS_SERVER_NAME") or None,
        )


@dataclass(frozen=True)
class KafkaConfig:
    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_ca_location: str | None = None
    timeout: float = 10.0

    def __post_init__(self) -> None:
        # As RedisConfig: a config built in code fails where it is built.
        check_timeout(self.timeout, "Kafka", "KAFKA_TIMEOUT")

    def __repr__(self) -> str:  # never show the password
        return (
            f"KafkaConfig(bootstrap_servers={self.bootstrap_servers!r}, security_protocol={self.security_protocol!r})"
        )

    @property
    def address(self) -> str:
        return self.bootstrap_servers

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KafkaConfig:
        """KAFKA_BOOTSTRAP_SERVERS, plus KAFKA_SECURITY_PROTOCOL / KAFKA_SASL_* / KAFKA_SSL_CA_LOCATION."""
        env = _env(env)
        protocol = (env.get("KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT").upper()
        if protocol not in ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"):
            raise InvalidInputError(
                f"KAFKA_SECURITY_PROTOCOL={protocol!r}: use PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
            )
        servers = env.get("KAFKA_BOOTSTRAP_SERVERS") or "127.0.0.1:9092"
        if any(":" not in server for server in servers.split(",")):
            raise InvalidInputError(f"KAFKA_BOOTSTRAP_SERVERS={servers!r} must list host:port pairs")
        return cls(
            bootstrap_servers=servers,
            security_protocol=protocol,
            sasl_mechanism=env.get("KAFKA_SASL_MECHANISM") or None,
            sasl_username=env.get("KAFKA_SASL_USERNAME") or None,
            sasl_password=env.get("KAFKA_SASL_PASSWORD") or None,
            ssl_ca_location=env.get("KAFKA_SSL_CA_LOCATION") or None,
            timeout=env_number(env, "KAFKA_TIMEOUT", 10.0, minimum=0.001),
        )

    def client_settings(self) -> dict[str, str | int | float | bool]:
        """The librdkafka settings every producer, consumer and admin client of the library shares."""
        settings: dict[str, str | int | float | bool] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
            "socket.timeout.ms": int(self.timeout * 1000),
        }
        if self.sasl_mechanism:
            settings["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username:
            settings["sasl.username"] = self.sasl_username
            settings["sasl.password"] = self.sasl_password or ""
        if self.ssl_ca_location:
            settings["ssl.ca.location"] = self.ssl_ca_location
        return settings


@dataclass(frozen=True)
class S3Config:
    endpoint_url: str | None = None  # None: AWS itself
    access_key: str | None = None
    secret_key: str | None = None
    region: str = "us-east-1"
    timeout: float = 30.0
    retries: int = 3

    def __post_init__(self) -> None:
        # As RedisConfig: a config built in code fails where it is built (botocore would take a NaN timeout).
        check_timeout(self.timeout, "S3", "S3_TIMEOUT")
        check_retries(self.retries, "S3", "S3_RETRIES")

    def __repr__(self) -> str:  # never show the secret
        return f"S3Config(endpoint_url={self.endpoint_url!r}, region={self.region!r})"

    @property
    def address(self) -> str:
        return self.endpoint_url or f"s3.{self.region}.amazonaws.com"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> S3Config:
        """S3_ENDPOINT_URL (unset: AWS), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION."""
        env = _env(env)
        endpoint = env.get("S3_ENDPOINT_URL") or None
        if endpoint and "://" not in endpoint:
            raise InvalidInputError(f"S3_ENDPOINT_URL={endpoint!r} needs a scheme, e.g. http://127.0.0.1:8333")
        return cls(
            endpoint_url=endpoint,
            access_key=env.get("AWS_ACCESS_KEY_ID") or None,
            secret_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            region=env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or "us-east-1",
            timeout=env_number(env, "S3_TIMEOUT", 30.0, minimum=0.001),
            retries=env_int(env, "S3_RETRIES", 3),
        )
