"""Start, reuse, reap and stop services: the one place that decides, under the registry lock.

Rules, in order, for each service asked for:
1. `external` backend: read the environment, start nothing.
2. A healthy recorded instance that is persistent (`testservices up`) or belongs to the same owner
   (the same nox session or pytest run) is reused.
3. Otherwise a new instance is started and recorded with its owner, so that teardown (or, if the owner
   was killed, the next run's reaper) stops it.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from testservices.backends import get_backend
from testservices.backends.base import StartRequest
from testservices.backends.external import ExternalBackend
from testservices.errors import BackendUnavailableError, HarnessError
from testservices.processes import ProcessId
from testservices.settings import Settings
from testservices.specs import get_spec, resolve
from testservices.specs.base import ServiceSpec
from testservices.state import Endpoint, Registry, ServiceRecord

# Logs of this many recent runs are kept for troubleshooting; older run folders are pruned.
KEEP_RUNS = 10


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


@dataclass
class Owner:
    """The process whose life bounds a non-persistent service (a nox session or a pytest run)."""

    pid: int
    created: float

    @classmethod
    def from_env(cls) -> Owner:
        raw = os.environ.get("TESTSERVICES_OWNER_PID")
        pid = int(raw) if raw and raw.isdigit() else os.getpid()
        try:
            return cls(pid, ProcessId.of(pid).create_time)
        except Exception as exc:
            raise HarnessError(f"TESTSERVICES_OWNER_PID={raw} names no running process") from exc


@dataclass
class ServiceManager:
    settings: Settings = field(default_factory=Settings.from_env)
    owner: Owner = field(default_factory=Owner.from_env)
    run_id: str = field(default_factory=lambda: os.environ.get("TESTSERVICES_RUN_ID") or new_run_id())
    persistent: bool = False
    say: Callable[[str], None] = lambda message: None

    def __post_init__(self) -> None:
        self.backend = get_backend(self.settings)
        self.registry = Registry(self.settings.home)

    # -- starting ---------------------------------------------------------------------------------------
    def ensure(self, names: Iterable[str]) -> dict[str, Endpoint]:
        specs = resolve(names)
        endpoints: dict[str, Endpoint] = {}
        if isinstance(self.backend, ExternalBackend):
            endpoints = {spec.name: self.backend.endpoint(spec) for spec in specs}
            for name, endpoint in endpoints.items():
                self.say(f"using {name} at {endpoint.address} (external backend: nothing started)")
            return endpoints
        with self.registry.locked():
            self._reap_locked()
            for spec in specs:
                record = self._reusable(spec.name)
                if record is not None:
                    how = "started by `testservices up`" if record.persistent else f"run {record.started_by}"
                    self.say(f"reusing {spec.name} at {record.host}:{record.port} ({record.where}, {how})")
                    endpoints[spec.name] = record.endpoint(reused=True)
                    continue
                endpoints[spec.name] = self._start_locked(spec, endpoints).endpoint()
            if self.persistent:
                # Handed to the user only now: until every service is ready they belong to this command,
                # so a `testservices up` killed halfway (even with SIGKILL) leaves nothing the reaper spares.
                self._hand_over_locked(self.run_id)
        self._prune_runs()
        return endpoints

    def _start_locked(
        self, spec: ServiceSpec, endpoints: dict[str, Endpoint], *, exclusive: bool = False
    ) -> ServiceRecord:
        self.say(f"starting {'a private ' if exclusive else ''}{spec.name} ({self.backend.name} backend) ...")
        request = StartRequest(
            instance=uuid.uuid4().hex[:8],
            run_dir=self.registry.runs_dir / self.run_id,
            owner_pid=self.owner.pid,
            owner_created=self.owner.created,
            persistent=False,
            started_by=self.run_id,
            on_spawn=self.registry.save,
            dependencies={k: v for dep in spec.depends_on for k, v in endpoints[dep].env.items()},
            exclusive=exclusive,
        )
        try:
            new = self.backend.start(spec, request)
        except BaseException:
            for provisional in self.registry.records(spec.name):
                if provisional.instance == request.instance:
                    self.registry.remove(provisional)
            raise
        self.registry.save(new)
        self.say(
            f"{spec.name} ready at {new.host}:{new.port} in {new.ready_seconds:.2f} s ({new.where}, log {new.log_path})"
        )
        return new

    def start_private(self, name: str) -> ServiceRecord:
        """A new instance nobody else gets (for tests that stop, kill or restart it); its dependencies are
        the shared ones. Removed with `remove()`, or with the run."""
        spec = get_spec(name)
        if isinstance(self.backend, ExternalBackend):
            raise HarnessError(
                f"the external backend cannot start a private {name}: fault tests need TESTSERVICES_BACKEND=local "
                "or docker"
            )
        endpoints = self.ensure(spec.depends_on) if spec.depends_on else {}
        with self.registry.locked():
            record = self._start_locked(spec, endpoints, exclusive=True)
        self._prune_runs()
        return record

    # -- faults -----------------------------------------------------------------------------------------
    def stop(self, record: ServiceRecord, *, kill: bool = False) -> ServiceRecord:
        """Stop (or SIGKILL) one instance and keep its data; it stays recorded, marked stopped, so neither
        the reaper nor another run replaces it while it is down."""
        spec = get_spec(record.name)
        with self.registry.locked():
            record.stopped = True
            self.registry.save(record)
        self.backend.stop(spec, record, kill=kill)
        return record

    def resume(self, record: ServiceRecord) -> ServiceRecord:
        """Start a stopped instance again on its data and ports; returns when it answers. Not under the
        registry lock: a recovering server (Milvus replays its log) must not hold up other workers."""
        resumed = self.backend.resume(get_spec(record.name), record, on_spawn=self.registry.save)
        resumed.stopped = False
        with self.registry.locked():
            self.registry.save(resumed)
        return resumed

    def _reusable(self, name: str) -> ServiceRecord | None:
        spec = get_spec(name)
        candidates = [
            r
            for r in self.registry.records(name)
            if r.backend == self.backend.name
            and not r.exclusive
            and not r.stopped
            and (r.persistent or (r.owner_pid == self.owner.pid and r.owner_created == self.owner.created))
        ]
        # Persistent first (the user asked for them to be shared), then the newest.
        for record in sorted(candidates, key=lambda r: (not r.persistent, -r.started_at)):
            try:
                if self.backend.is_running(record):
                    spec.check_ready(record.env)
                    return record
            except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
                self.say(f"recorded {name} at {record.host}:{record.port} is not healthy ({exc}); replacing it")
            self._remove_locked(record)
        return None

    # -- removing ---------------------------------------------------------------------------------------
    def _remove_locked(self, record: ServiceRecord) -> None:
        try:
            self.backend.remove(get_spec(record.name), record)
        finally:
            self.registry.remove(record)

    def remove(self, records: Iterable[ServiceRecord]) -> list[ServiceRecord]:
        """End each instance and delete its data (its log stays); raises once, after trying all."""
        removed = []
        errors: list[str] = []
        with self.registry.locked():
            for record in records:
                self.say(f"removing {record.name} ({record.where}) ...")
                try:
                    self._remove_locked(record)
                except Exception as exc:  # noqa: BLE001 - remove the others, report all at the end
                    errors.append(f"{record.name}: {exc}")
                else:
                    removed.append(record)
        if errors:
            raise HarnessError("some services could not be removed cleanly:\n" + "\n".join(errors))
        return removed

    def remove_run(self, run_id: str | None = None) -> list[ServiceRecord]:
        """Remove what one run started (not what it reused)."""
        wanted = run_id or self.run_id
        mine = [r for r in self.registry.records() if r.started_by == wanted and not r.persistent]
        # Newest first: a service stops before what it depends on (Prometheus before Alertmanager).
        return self.remove(sorted(mine, key=lambda r: r.started_at, reverse=True))

    def keep_for_debugging(self, run_id: str | None = None) -> list[ServiceRecord]:
        """INTEGRATION_TEST_CLEANUP=false: hand the run's services over to the user instead of stopping them."""
        with self.registry.locked():
            return self._hand_over_locked(run_id or self.run_id)

    def _hand_over_locked(self, run_id: str) -> list[ServiceRecord]:
        """Make a run's services the user's: kept until `testservices down`, whoever started them."""
        kept = []
        for record in self.registry.records():
            if record.started_by == run_id and not record.persistent and not record.exclusive:
                record.persistent = True
                self.registry.save(record)
                kept.append(record)
        return kept

    def down(self, names: Iterable[str] = ()) -> tuple[list[ServiceRecord], list[ServiceRecord]]:
        """Stop persistent and orphaned services; leave those a live run still owns (and say so)."""
        wanted = set(names)
        for name in wanted:
            get_spec(name)
        chosen = sorted(
            (r for r in self.records() if not wanted or r.name in wanted),
            key=lambda r: r.started_at,
            reverse=True,
        )
        busy = [r for r in chosen if not r.persistent and r.owner_alive()]
        return self.remove(r for r in chosen if r not in busy), busy

    # -- reaping ----------------------------------------------------------------------------------------
    def reap(self) -> list[ServiceRecord]:
        with self.registry.locked():
            return self._reap_locked()

    def _reap_locked(self) -> list[ServiceRecord]:
        """End what crashed runs left: services whose owner is gone, and records whose process is gone."""
        reaped = []
        for record in self.records():
            try:
                if record.owner_alive() and (record.stopped or self.backend.is_running(record)):
                    continue  # running, or stopped on purpose by a fault test that will start it again
            except BackendUnavailableError as exc:
                self.say(f"left {record.name} alone: {exc}")
                continue
            why = (
                "its process is gone"
                if record.owner_alive()
                else f"the run that owned it (pid {record.owner_pid}) ended"
            )
            self.say(f"reaping {record.name} ({record.where}): {why}")
            try:
                self._remove_locked(record)
            except HarnessError as exc:
                self.say(f"could not fully reap {record.name}: {exc}")
            reaped.append(record)
        for description in self.backend.reap_orphans():
            self.say(f"reaped {description}: the run that started it has ended")
        return reaped

    def _prune_runs(self) -> None:
        runs_dir = self.registry.runs_dir
        if not runs_dir.is_dir():
            return
        live = {Path(r.run_dir).name for r in self.registry.records()}
        runs = sorted((p for p in runs_dir.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        for old in runs[:-KEEP_RUNS]:
            if old.name not in live:
                shutil.rmtree(old, ignore_errors=True)

    # -- looking ----------------------------------------------------------------------------------------
    def records(self) -> list[ServiceRecord]:
        """The services this backend started: `down`, `status`, `env` and the reaper never touch another
        backend's (a `testservices down` under `local` leaves the containers of a docker run alone)."""
        return [r for r in self.registry.records() if r.backend == self.backend.name]

    def other_backends(self) -> dict[str, int]:
        """How many recorded services each other backend has, for `status` to mention."""
        counts: dict[str, int] = {}
        for record in self.registry.records():
            if record.backend != self.backend.name:
                counts[record.backend] = counts.get(record.backend, 0) + 1
        return counts

    def running_endpoints(self, names: Iterable[str] = ()) -> dict[str, Endpoint]:
        """Endpoints of recorded services (persistent first), without starting anything."""
        wanted = set(names)
        found: dict[str, Endpoint] = {}
        records = sorted(self.records(), key=lambda r: (not r.persistent, -r.started_at))
        for record in records:
            if record.exclusive or (wanted and record.name not in wanted) or record.name in found:
                continue
            if self.backend.is_running(record):
                found[record.name] = record.endpoint(reused=True)
        return found
