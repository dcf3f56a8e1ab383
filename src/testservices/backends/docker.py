"""Services as `docker compose` projects: one project per instance, only the services asked for.

Every compose call goes through `self.run`, so the exact commands can be checked without an engine.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from testservices.backends.base import StartRequest
from testservices.errors import BackendUnavailableError, HarnessError, ServiceStartError
from testservices.processes import tail
from testservices.readiness import wait_until
from testservices.settings import Settings
from testservices.specs import get_spec
from testservices.specs.base import ServiceSpec
from testservices.state import ServiceRecord

Runner = Callable[[Sequence[str], Mapping[str, str], float], subprocess.CompletedProcess[str]]


def run_command(argv: Sequence[str], env: Mapping[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), env=dict(env), capture_output=True, text=True, timeout=timeout, check=False)


def compose_command() -> list[str]:
    """`docker compose` (v2) by default; TESTSERVICES_COMPOSE_CMD may name another, e.g. `podman compose`."""
    return shlex.split(os.environ.get("TESTSERVICES_COMPOSE_CMD", "docker compose"))


def parse_port(output: str) -> tuple[str, int]:
    """`docker compose port` prints e.g. `127.0.0.1:49153` (or `[::1]:49153`); take the last line."""
    line = output.strip().splitlines()[-1] if output.strip() else ""
    host, sep, port = line.rpartition(":")
    if not sep or not port.isdigit():
        raise HarnessError(f"could not read a published port from {output!r}")
    host = host.strip("[]")
    return ("127.0.0.1" if host in ("0.0.0.0", "", "::") else host), int(port)  # noqa: S104


class DockerBackend:
    name = "docker"
    manages_processes = True

    def __init__(self, settings: Settings, runner: Runner = run_command) -> None:
        self.settings = settings
        self.run = runner
        self._checked = False

    def _base(self, spec: ServiceSpec, project: str) -> list[str]:
        compose_file = self.settings.compose_dir / spec.compose_file
        return [*compose_command(), "--project-name", project, "--file", str(compose_file)]

    def _call(self, argv: Sequence[str], env: Mapping[str, str], timeout: float, what: str) -> str:
        try:
            done = self.run(argv, env, timeout)
        except FileNotFoundError as exc:
            raise BackendUnavailableError(
                f"{argv[0]} is not installed; install Docker or use TESTSERVICES_BACKEND=local"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise HarnessError(f"{what} took longer than {timeout:.0f} s: {shlex.join(argv)}") from exc
        if done.returncode != 0:
            raise HarnessError(f"{what} failed ({shlex.join(argv)}):\n{done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def check_engine(self) -> None:
        if self._checked:
            return
        try:
            self._call(["docker", "info", "--format", "{{.ServerVersion}}"], dict(os.environ), 30, "docker info")
        except HarnessError as exc:
            raise BackendUnavailableError(
                "TESTSERVICES_BACKEND=docker needs a running Docker engine and `docker info` failed; "
                "start Docker, or use TESTSERVICES_BACKEND=local (the default, no Docker needed)"
            ) from exc
        self._checked = True

    def start(self, spec: ServiceSpec, request: StartRequest) -> ServiceRecord:
        self.check_engine()
        # One project per compose file and run: services of one file (Prometheus and the Pushgateway it
        # scrapes) share its network, as `depends_on` expects, and a second run never touches the first's.
        stem = Path(spec.compose_file).stem
        run = re.sub(r"[^a-z0-9_-]+", "-", request.started_by.lower()).strip("-") or request.instance
        project = f"vectorstack-{stem}-{run}" + (f"-{request.instance}" if request.exclusive else "")
        creds = spec.generate_secrets()
        env = {**os.environ, **spec.compose_env(creds)}
        base = self._base(spec, project)
        log_path = request.run_dir / f"{request.stem(spec)}.log"
        timeout = self.settings.startup_timeout
        up = [*base, "up", "--detach", "--wait", "--wait-timeout", str(int(timeout)), spec.compose_service]
        try:
            self._call(up, env, timeout + 60, f"starting {spec.name}")
            host, ports = self._published(base, spec, env, "127.0.0.1")
            exported = spec.exports(host, ports, creds, backend=self.name)
            result = wait_until(lambda: spec.check_ready(exported), timeout)
            if not result.ready:
                raise HarnessError(f"container healthy but not answering: {result.last_error}")
        except HarnessError as exc:
            self._save_logs(base, spec, env, log_path)
            self._remove(base, spec, env)
            raise ServiceStartError(spec.name, str(exc), tail(log_path), str(log_path)) from exc
        return request.record(
            spec,
            self.name,
            exported,
            ports,
            ready_seconds=round(result.seconds, 3),
            log_path=str(log_path),
            compose_project=project,
            launch={"creds": creds},
        )

    def _published(
        self, base: list[str], spec: ServiceSpec, env: Mapping[str, str], host: str
    ) -> tuple[str, dict[str, int]]:
        """Host and published port of each role (Docker picks them at every container start)."""
        ports: dict[str, int] = {}
        for role, container_port in spec.container_ports.items():
            out = self._call([*base, "port", spec.compose_service, str(container_port)], env, 30, "docker port")
            host, ports[role] = parse_port(out)
        return host, ports

    def _record_env(self, spec: ServiceSpec, record: ServiceRecord) -> dict[str, str]:
        return {**os.environ, **spec.compose_env(record.launch.get("creds", {}))}

    def halt(self, spec: ServiceSpec, record: ServiceRecord, *, kill: bool) -> None:
        """Stop the container (SIGKILL with `kill`) and keep it, with its volumes, for `resume`."""
        base = self._base(spec, record.compose_project)
        env = self._record_env(spec, record)
        if kill:
            argv = [*base, "kill", "--signal", "SIGKILL", spec.compose_service]
        else:
            argv = [*base, "stop", "--timeout", str(int(spec.stop_grace)), spec.compose_service]
        self._call(argv, env, 120, f"{'killing' if kill else 'stopping'} {spec.name}")

    def resume(
        self, spec: ServiceSpec, record: ServiceRecord, on_spawn: Callable[[ServiceRecord], None] | None = None
    ) -> ServiceRecord:
        """Start the same container again and wait until it answers; a published port may change."""
        base = self._base(spec, record.compose_project)
        env = self._record_env(spec, record)
        self._call([*base, "start", spec.compose_service], env, 120, f"starting {spec.name} again")
        host, ports = self._published(base, spec, env, record.host)
        exported = spec.exports(host, ports, record.launch.get("creds", {}), backend=self.name)
        result = wait_until(lambda: spec.check_ready(exported), self.settings.startup_timeout)
        if not result.ready:
            self._save_logs(base, spec, env, Path(record.log_path))
            raise ServiceStartError(
                spec.name, f"started again but not answering: {result.last_error}", tail(Path(record.log_path))
            )
        record.env, record.ports = exported, ports
        record.host, record.port = spec.main_port(exported)
        record.ready_seconds = round(result.seconds, 3)
        return record

    def _save_logs(self, base: list[str], spec: ServiceSpec, env: Mapping[str, str], log_path: Path) -> None:
        """Containers lose their logs on `down`; keep them in the run folder like a local service's."""
        try:
            out = self._call([*base, "logs", "--no-color", "--timestamps", spec.compose_service], env, 60, "logs")
        except HarnessError as exc:
            out = f"(could not read container logs: {exc})\n"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("a") as handle:
            handle.write(out)

    def stop(self, spec: ServiceSpec, record: ServiceRecord) -> None:
        base = self._base(spec, record.compose_project)
        env = {**os.environ, **record.env}  # the same values the file was interpolated with at start
        self._save_logs(base, spec, env, Path(record.log_path))
        self._remove(base, spec, env)

    def _remove(self, base: list[str], spec: ServiceSpec, env: Mapping[str, str]) -> None:
        """Remove this service's container and volumes; the whole project once nothing else runs in it."""
        self._call(
            [*base, "rm", "--stop", "--force", "--volumes", spec.compose_service], env, 120, f"stopping {spec.name}"
        )
        if not self._call([*base, "ps", "--quiet"], env, 30, "docker compose ps").strip():
            self._call([*base, "down", "--volumes", "--remove-orphans"], env, 120, "docker compose down")

    def refresh_log(self, spec: ServiceSpec, record: ServiceRecord) -> None:
        """Write the container's current log into the record's log file, for `logs` and failure reports."""
        base = self._base(spec, record.compose_project)
        Path(record.log_path).write_text("")
        self._save_logs(base, spec, {**os.environ, **record.env}, Path(record.log_path))

    def is_running(self, record: ServiceRecord) -> bool:
        service = get_spec(record.name).compose_service
        argv = [*compose_command(), "--project-name", record.compose_project, "ps", "--quiet", service]
        try:
            return bool(self._call(argv, dict(os.environ), 30, "docker compose ps").strip())
        except HarnessError:
            return False
