"""Services as containers, with the same contract as the local backend.

- `docker compose up --wait` creates each service from the compose files shipped in the package; the
  docker SDK does what the CLI cannot do well: labels, inspection, kill, restart and log streaming.
- Host ports are chosen by the harness (free loopback ports) and written into the container's port
  bindings, so they survive a stop/kill/start, as a local process keeps its ports.
- Data that the service persists lives on a volume: a killed container comes back with it.
- A record is written before `up`; the container log streams into the run's log file; a start that fails
  or is interrupted removes what it made. Whatever a killed run left is found by label and reaped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import psutil

from testservices import images
from testservices.backends.base import StartRequest
from testservices.backends.compose import (
    COMPOSE_SERVICE_LABEL,
    PROJECT_LABEL,
    Project,
    compose_command,
    host_port_variable,
    instance_labels,
    project_labels,
    project_name,
    run_compose,
    service_image,
)
from testservices.backends.orphans import reap_by_label
from testservices.errors import BackendUnavailableError, HarnessError, ServiceStartError
from testservices.ports import free_ports, is_listening
from testservices.processes import ProcessId, spawn, tail
from testservices.readiness import NotReady, WaitResult, wait_until
from testservices.settings import Settings
from testservices.specs import get_spec
from testservices.specs.base import LaunchContext, ServiceSpec
from testservices.state import ServiceRecord

# A chosen free port can be taken by another program before Docker binds it: retried on new ports.
START_ATTEMPTS = 3
HOST = "127.0.0.1"


def docker_client() -> Any:
    """The SDK's client for the engine DOCKER_HOST names (the local socket by default)."""
    try:
        import docker
    except ImportError as exc:
        raise BackendUnavailableError(
            "TESTSERVICES_BACKEND=docker needs the docker SDK: `pip install 'vectorstack[docker]'` "
            "(the nox sessions install it)"
        ) from exc
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except docker.errors.DockerException as exc:
        raise BackendUnavailableError(
            "TESTSERVICES_BACKEND=docker needs a running Docker engine and none answers; start Docker "
            "(see the README's Docker section), or use TESTSERVICES_BACKEND=local (the default, no Docker needed)"
        ) from exc
    return client


class DockerBackend:
    name = "docker"

    def __init__(self, settings: Settings, client: Any = None) -> None:
        self.settings = settings
        self._client = client
        self._compose_checked = False

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = docker_client()
        return self._client

    @property
    def errors(self) -> Any:
        import docker.errors

        return docker.errors

    def check_engine(self) -> None:
        """Once per backend: the engine answers (the client pings it when made) and Compose v2 is there."""
        if self._compose_checked:
            return
        _ = self.client
        try:
            run_compose([*compose_command(), "version"], os.environ, 30, "docker compose version")
        except HarnessError as exc:
            raise BackendUnavailableError(
                "the docker backend needs Compose v2 (`docker compose version` fails): install the compose "
                "plugin (see the README's Docker section), or point TESTSERVICES_COMPOSE_CMD at one"
            ) from exc
        self._compose_checked = True

    # -- starting ---------------------------------------------------------------------------------------
    def project(self, spec: ServiceSpec, request: StartRequest) -> Project:
        name = project_name(spec.compose_file, request.started_by, request.instance, request.exclusive)
        return Project(
            name,
            self.settings.compose_dir / spec.compose_file,
            request.run_dir / "compose" / f"{name}-{spec.compose_service}.json",
        )

    def start(self, spec: ServiceSpec, request: StartRequest) -> ServiceRecord:
        self.check_engine()
        project = self.project(spec, request)
        image_env = images.compose_images([spec.name])
        creds = spec.choose_run_values()
        log_path = request.run_dir / f"{request.stem(spec)}.log"
        data_dir = request.run_dir / "data" / request.stem(spec)
        last_error: ServiceStartError | None = None
        started = time.monotonic()
        for attempt in range(1, START_ATTEMPTS + 1):
            shutil.rmtree(data_dir, ignore_errors=True)
            data_dir.mkdir(parents=True)
            ports = dict(zip(spec.container_ports, free_ports(len(spec.container_ports)), strict=True))
            ctx = LaunchContext(self.settings, data_dir, log_path, ports, creds, dependencies=request.dependencies)
            compose_env = {host_port_variable(spec, role): str(port) for role, port in ports.items()}
            compose_env.update(spec.compose_env(ctx))
            compose_env.update(image_env)
            exported = {**spec.exports(HOST, ports, creds, backend=self.name), **spec.extra_exports(ctx)}
            record = request.record(
                spec,
                self.name,
                exported,
                ports,
                data_dir=str(data_dir),
                log_path=str(log_path),
                compose_project=project.name,
            )
            owner = f"{request.owner_pid}:{request.owner_created}" if request.owner_pid else ""
            project.write_labels(
                spec.compose_service,
                project_labels(request.started_by, self.settings.home, owner),
                instance_labels(request.instance, spec.name),
            )
            try:
                # On file before anything exists: a run killed from here on leaves a record (and labels).
                if request.on_spawn is not None:
                    request.on_spawn(record)
                self._follow_log(spec, record)
                if request.on_spawn is not None:
                    request.on_spawn(record)
                self._up(spec, project, compose_env, attempt)
                container = self._container(record)
                record.env.update(spec.container_exports(container.image.labels or {}))
                result = self._wait_ready(spec, record)
                if not result.ready:
                    raise HarnessError(f"the container is healthy but the service: {result.reason()}") from result.error
            except HarnessError as exc:
                self.remove(spec, record)
                last_error = ServiceStartError(spec.name, str(exc), tail(log_path), str(log_path))
                if attempt < START_ATTEMPTS and any(is_listening(HOST, port) for port in ports.values()):
                    continue  # another program took a chosen port: try new ones
                raise last_error from exc
            except BaseException:
                # Interrupted (Ctrl-C, a test timeout): never leave the container behind.
                self.remove(spec, record)
                raise
            record.ready_seconds = round(time.monotonic() - started, 3)  # `up` included, as a user waits
            return record
        assert last_error is not None
        raise last_error

    def _wait_ready(self, spec: ServiceSpec, record: ServiceRecord) -> WaitResult:
        """The harness's own check after compose's healthcheck: the service answers real requests."""
        return wait_until(
            lambda: spec.check_ready(record.env), self.settings.startup_timeout, alive=lambda: self.is_running(record)
        )

    def _check_image(self, spec: ServiceSpec, project: Project, compose_env: Mapping[str, str]) -> bool:
        """Whether the service's image is here. A missing local image fails at once, saying how to build it;
        a missing official one is left for compose to pull."""
        image = service_image(project.file, spec.compose_service, {**os.environ, **compose_env})
        try:
            self.client.images.get(image)
        except self.errors.ImageNotFound:
            if images.flavor() == "local":
                raise ServiceStartError(
                    spec.name,
                    f"TESTSERVICES_IMAGES=local but {image} is not built; build it with "
                    f"`testservices images build {spec.name}` (or `nox -s services -- images build {spec.name}`)",
                ) from None
            return False
        return True

    def _up(self, spec: ServiceSpec, project: Project, compose_env: Mapping[str, str], attempt: int) -> None:
        timeout = self.settings.startup_timeout
        present = self._check_image(spec, project, compose_env)
        argv = project.argv(
            "up", "--detach", "--no-deps", "--wait", "--wait-timeout", str(int(timeout)), spec.compose_service
        )
        try:
            run_compose(argv, {**os.environ, **compose_env}, timeout + 300, f"starting {spec.name} (attempt {attempt})")
        except HarnessError as exc:
            if not present:
                raise HarnessError(
                    f"{exc}\nIts image could not be pulled. Where no image registry is reachable, build local "
                    f"images and use them: `testservices images build {spec.name}` and TESTSERVICES_IMAGES=local"
                ) from exc
            raise

    def _follow_log(self, spec: ServiceSpec, record: ServiceRecord) -> None:
        """Start (again) the process that streams the container's log into the record's log file."""
        if record.follower is not None and record.follower.alive():
            return
        argv = [
            sys.executable,
            "-m",
            "testservices.backends.container_logs",
            "--project",
            record.compose_project,
            "--service",
            spec.compose_service,
            "--appear-within",
            str(int(self.settings.startup_timeout + 300)),
        ]
        popen = spawn(argv, log_path=Path(record.log_path), cwd=Path(record.run_dir), env=os.environ)
        process = ProcessId.of(popen.pid)
        record.follower_pid, record.follower_created = process.pid, process.create_time

    # -- looking ----------------------------------------------------------------------------------------
    def _filters(self, record: ServiceRecord) -> dict[str, list[str]]:
        service = get_spec(record.name).compose_service
        return {"label": [f"{PROJECT_LABEL}={record.compose_project}", f"{COMPOSE_SERVICE_LABEL}={service}"]}

    def _containers(self, record: ServiceRecord) -> list[Any]:
        try:
            return list(self.client.containers.list(all=True, filters=self._filters(record)))
        except self.errors.DockerException as exc:
            raise BackendUnavailableError(f"the Docker engine did not answer about {record.name}: {exc}") from exc

    def _container(self, record: ServiceRecord) -> Any:
        found = self._containers(record)
        if not found:
            raise HarnessError(f"{record.name}: no container in compose project {record.compose_project}")
        return found[0]

    def is_running(self, record: ServiceRecord) -> bool:
        """Whether its container runs; an engine that does not answer raises instead of saying "no", so
        the reaper never removes a live shared service on a hiccup."""
        return any(c.status == "running" for c in self._containers(record))

    # -- faults -----------------------------------------------------------------------------------------
    def _note(self, record: ServiceRecord, text: str) -> None:
        with Path(record.log_path).open("a") as log:
            log.write(f"--- testservices: {text}\n")

    def stop(self, spec: ServiceSpec, record: ServiceRecord, *, kill: bool) -> None:
        """Stop the container (SIGKILL with `kill`, as a crash) and keep it, with its volumes and ports."""
        container = self._container(record)
        self._note(record, f"{'killing (SIGKILL)' if kill else 'stopping'} the {spec.name} container")
        try:
            if kill:
                container.kill(signal="SIGKILL")
                container.wait(timeout=60)
            else:
                container.stop(timeout=int(spec.stop_grace))
        except self.errors.DockerException as exc:
            raise HarnessError(f"could not {'kill' if kill else 'stop'} the {spec.name} container: {exc}") from exc

    def resume(
        self, spec: ServiceSpec, record: ServiceRecord, on_spawn: Callable[[ServiceRecord], None] | None = None
    ) -> ServiceRecord:
        """Start the same container again (same ports, volumes, credentials) and wait until it answers."""
        container = self._container(record)
        self._note(record, f"starting the {spec.name} container again")
        self._follow_log(spec, record)
        if on_spawn is not None:
            on_spawn(record)
        try:
            container.start()
        except self.errors.DockerException as exc:
            raise ServiceStartError(spec.name, f"its container did not start again: {exc}") from exc

        def ready() -> None:
            container.reload()
            health = (container.attrs.get("State", {}).get("Health") or {}).get("Status", "healthy")
            if health != "healthy":
                raise NotReady(f"container health is {health}")
            spec.check_ready(record.env)

        result = wait_until(ready, self.settings.startup_timeout, alive=lambda: self.is_running(record))
        if not result.ready:
            raise ServiceStartError(
                spec.name, f"restarted on its volumes: {result.reason()}", tail(Path(record.log_path)), record.log_path
            ) from result.error
        record.ready_seconds = round(result.seconds, 3)
        return record

    # -- stopping ---------------------------------------------------------------------------------------
    def remove(self, spec: ServiceSpec, record: ServiceRecord) -> None:
        """Remove the service's container and its volumes, the project's network once nothing else runs in
        it, and the record's config folder; the log file stays."""
        volumes: list[str] = []
        containers = self._containers(record)
        for container in containers:
            volumes += [m["Name"] for m in container.attrs.get("Mounts", []) if m.get("Type") == "volume"]
            with contextlib.suppress(self.errors.NotFound):
                container.remove(force=True, v=True)
        for name in volumes:
            with contextlib.suppress(self.errors.NotFound):
                self.client.volumes.get(name).remove(force=True)
        self._remove_empty_project(record.compose_project)
        self._end_follower(record, wait=5.0 if containers else 0.0)
        if record.data_dir:
            shutil.rmtree(record.data_dir, ignore_errors=True)

    @staticmethod
    def _end_follower(record: ServiceRecord, wait: float) -> None:
        """The log follower ends by itself once the container is gone, after writing its last lines; it is
        ended if it has not within `wait` s (at once when no container was ever made), and only if it is
        still the very process that was started."""
        process = record.follower.process() if record.follower is not None else None
        if process is None:
            return
        with contextlib.suppress(psutil.NoSuchProcess):
            try:
                process.wait(timeout=wait)
            except psutil.TimeoutExpired:
                process.kill()

    def _remove_empty_project(self, project: str) -> None:
        """Remove a project's networks and volumes if no container of it is left."""
        label = {"label": [f"{PROJECT_LABEL}={project}"]}
        if self.client.containers.list(all=True, filters=label):
            return
        for network in self.client.networks.list(filters=label):
            with contextlib.suppress(self.errors.NotFound):
                network.remove()
        for volume in self.client.volumes.list(filters=label):
            with contextlib.suppress(self.errors.NotFound):
                volume.remove(force=True)

    # -- reaping by label -------------------------------------------------------------------------------
    def reap_orphans(self) -> list[str]:
        return reap_by_label(self.client)
