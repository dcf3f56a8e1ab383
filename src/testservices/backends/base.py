"""The interface every backend implements, and the request a start is made from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from testservices.specs.base import ServiceSpec
from testservices.state import ServiceRecord


@dataclass(frozen=True)
class StartRequest:
    """Who asks for a service and where its files go; copied into the record it produces."""

    instance: str
    run_dir: Path
    owner_pid: int | None
    owner_created: float | None
    persistent: bool
    started_by: str
    # Called with a provisional record as soon as a process exists, before it is ready: if this run is
    # killed during startup (even with SIGKILL), the record lets the next run's reaper find the process.
    on_spawn: Callable[[ServiceRecord], None] | None = None
    dependencies: dict[str, str] = field(default_factory=dict)
    # A private instance (see ServiceManager.start_private) gets files and a compose project of its own.
    exclusive: bool = False

    def stem(self, spec: ServiceSpec) -> str:
        """The name of this instance's log and data dir: `redis`, or `redis-<instance>` when private."""
        return f"{spec.name}-{self.instance}" if self.exclusive else spec.name

    def record(
        self, spec: ServiceSpec, backend: str, env: dict[str, str], ports: dict[str, int], **details: Any
    ) -> ServiceRecord:
        """A record of this request's instance; `details` are the backend's own (pid, log, project...)."""
        host, port = spec.main_port(env)
        return ServiceRecord(
            name=spec.name,
            instance=self.instance,
            backend=backend,
            env=env,
            host=host,
            port=port,
            ports=ports,
            owner_pid=self.owner_pid,
            owner_created=self.owner_created,
            persistent=self.persistent,
            started_by=self.started_by,
            run_dir=str(self.run_dir),
            exclusive=self.exclusive,
            **details,
        )


class Backend(Protocol):
    name: str

    def start(self, spec: ServiceSpec, request: StartRequest) -> ServiceRecord:
        """Start the service, wait until it is ready, and describe it; raise ServiceStartError if not."""
        ...

    def remove(self, spec: ServiceSpec, record: ServiceRecord) -> None:
        """End it and delete its data; keep its log."""
        ...

    def stop(self, spec: ServiceSpec, record: ServiceRecord, *, kill: bool) -> None:
        """End it (SIGKILL at once with `kill`, as a crash) and keep its data, for `resume`."""
        ...

    def resume(
        self, spec: ServiceSpec, record: ServiceRecord, on_spawn: Callable[[ServiceRecord], None] | None = None
    ) -> ServiceRecord:
        """Start a stopped instance again on the same data; wait until ready; return the updated record."""
        ...

    def is_running(self, record: ServiceRecord) -> bool:
        """Cheap liveness (no request to the service); raises BackendUnavailableError when it cannot tell."""
        ...

    def reap_orphans(self) -> list[str]:
        """Remove what dead runs left that no record names (the docker backend finds it by label); returns
        a description of each thing removed."""
        ...
