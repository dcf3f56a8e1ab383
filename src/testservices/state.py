"""The registry of running services: one JSON file per instance under the state dir.

It is what lets a later run reuse a service (`testservices up`), lets teardown stop exactly what a run
started, and lets the reaper end what a crashed run (even one killed with SIGKILL) left behind.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from filelock import FileLock

from testservices.private_files import write_private
from testservices.processes import ProcessId


@dataclass
class Endpoint:
    """What a test gets for a service: the exported variables plus where its log is."""

    name: str
    backend: str
    env: dict[str, str] = field(repr=False)  # holds credentials: keep them out of tracebacks and reports
    host: str
    port: int
    log_path: Path | None = None
    reused: bool = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass
class ServiceRecord:
    name: str
    instance: str
    backend: str
    env: dict[str, str]
    host: str
    port: int
    ports: dict[str, int] = field(default_factory=dict)
    pid: int | None = None
    pid_created: float | None = None
    owner_pid: int | None = None
    owner_created: float | None = None
    persistent: bool = False
    started_by: str = ""
    started_at: float = field(default_factory=time.time)
    ready_seconds: float = 0.0
    run_dir: str = ""
    data_dir: str = ""
    log_path: str = ""
    compose_project: str = ""
    # A private instance (a fault test's own) is never handed to another test or run.
    exclusive: bool = False
    # Stopped on purpose by a fault test, data kept, to be started again: neither reaped nor replaced.
    stopped: bool = False
    # The MARKER_VARIABLE value in the environment of the processes of this instance (testservices.processes).
    pid_marker: str = ""
    # Local backend: the exact command, extra environment and working directory, to start it again.
    command: dict[str, Any] = field(default_factory=dict)
    # Docker backend: the `docker logs --follow` process that streams the container's log into log_path.
    follower_pid: int | None = None
    follower_created: float | None = None

    @property
    def where(self) -> str:
        """What runs it, for messages: its process, or its compose project."""
        return f"pid {self.pid}" if self.pid else f"compose project {self.compose_project}"

    @property
    def process(self) -> ProcessId | None:
        if self.pid is None or self.pid_created is None:
            return None
        return ProcessId(self.pid, self.pid_created, self.pid_marker)

    @property
    def follower(self) -> ProcessId | None:
        if self.follower_pid is None or self.follower_created is None:
            return None
        return ProcessId(self.follower_pid, self.follower_created)

    @classmethod
    def from_json(cls, text: str) -> ServiceRecord:
        """A record as saved; keys this version does not know (a record from an older testservices) are
        dropped, so the reaper still finds its processes. Raises ValueError/TypeError for a torn file."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise TypeError("a service record is a JSON object")
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    def owner_alive(self) -> bool:
        """Persistent services have no owner; others live only as long as the run that started them."""
        if self.persistent:
            return True
        if self.owner_pid is None or self.owner_created is None:
            return False
        return ProcessId(self.owner_pid, self.owner_created).alive()

    def endpoint(self, reused: bool = False) -> Endpoint:
        return Endpoint(
            name=self.name,
            backend=self.backend,
            env=dict(self.env),
            host=self.host,
            port=self.port,
            log_path=Path(self.log_path) if self.log_path else None,
            reused=reused,
        )


class Registry:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.records_dir = home / "services"
        self.runs_dir = home / "runs"
        self._lock = FileLock(str(home / "registry.lock"))

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One process at a time decides what to start or stop, across xdist workers and sessions."""
        self.home.mkdir(parents=True, exist_ok=True)
        with self._lock:
            yield

    def path_of(self, name: str, instance: str) -> Path:
        return self.records_dir / f"{name}-{instance}.json"

    def _path(self, record: ServiceRecord) -> Path:
        return self.path_of(record.name, record.instance)

    def save(self, record: ServiceRecord) -> None:
        self.records_dir.mkdir(parents=True, exist_ok=True)
        path = self._path(record)
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)  # a torn earlier write: O_CREAT would keep its mode
        write_private(tmp, json.dumps(asdict(record), indent=2, sort_keys=True))  # records hold credentials
        tmp.replace(path)

    def remove(self, record: ServiceRecord) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(record).unlink()

    def find(self, name: str, instance: str) -> ServiceRecord | None:
        """One instance's record, None if this state dir has none (or a torn one). A record that exists but
        cannot be read raises OSError: the docker reaper asks any state dir, and must not take "may not
        read" for "gone"."""
        try:
            text = self.path_of(name, instance).read_text()
        except FileNotFoundError:
            return None
        try:
            return ServiceRecord.from_json(text)
        except (ValueError, TypeError):
            return None

    def records(self, name: str | None = None) -> list[ServiceRecord]:
        if not self.records_dir.is_dir():
            return []
        found = []
        for path in sorted(self.records_dir.glob("*.json")):
            try:
                text = path.read_text()
            except FileNotFoundError:
                continue  # removed by another process since the listing
            # Any other OSError (a record we may not read) propagates, as in `find`: forgetting the record
            # of a live service would leave it running with nothing left to reap it by.
            try:
                record = ServiceRecord.from_json(text)
            except (ValueError, TypeError):
                # A record from an incompatible version or a torn write: drop it rather than crash.
                path.unlink(missing_ok=True)
                continue
            if name is None or record.name == name:
                found.append(record)
        return found
