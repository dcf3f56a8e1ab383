"""Real servers as child processes: free ports, 127.0.0.1 binds, a fresh data dir, one log per service."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from testservices.backends.base import StartRequest
from testservices.errors import HarnessError, ServiceStartError
from testservices.ports import free_ports
from testservices.processes import ProcessId, new_marker, spawn, stop_group, tail, wait_closed
from testservices.readiness import wait_until
from testservices.settings import Settings
from testservices.specs.base import LaunchContext, ServiceSpec
from testservices.state import ServiceRecord

# A free port can be taken by another program between our check and the server's bind; a server that dies
# at once is retried on new ports this many times before we give up.
START_ATTEMPTS = 3


class LocalBackend:
    name = "local"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def start(self, spec: ServiceSpec, request: StartRequest) -> ServiceRecord:
        log_path = request.run_dir / f"{request.stem(spec)}.log"
        data_dir = request.run_dir / "data" / request.stem(spec)
        spec.before_start(self.settings)
        creds = spec.choose_run_values()
        last_error: ServiceStartError | None = None
        for attempt in range(1, START_ATTEMPTS + 1):
            shutil.rmtree(data_dir, ignore_errors=True)
            data_dir.mkdir(parents=True)
            ports = dict(zip(spec.port_roles, free_ports(len(spec.port_roles)), strict=True))
            ctx = LaunchContext(self.settings, data_dir, log_path, ports, creds, dependencies=request.dependencies)
            plan = spec.local_plan(ctx)
            command = {"argv": plan.argv, "env": plan.env, "unset": list(plan.unset_env), "cwd": str(data_dir)}
            marker = new_marker()
            popen = self._spawn(spec, command, log_path, f"starting {spec.name} (attempt {attempt})", marker)
            # Not yet waited for, the child stays (at worst as a zombie) and its start time can be read.
            process = ProcessId.of(popen.pid, marker)
            try:
                exported = {**spec.exports(ctx.host, ports, creds), **spec.extra_exports(ctx)}
                record = request.record(
                    spec,
                    self.name,
                    exported,
                    ports,
                    pid=process.pid,
                    pid_created=process.create_time,
                    pid_marker=marker,
                    data_dir=str(data_dir),
                    log_path=str(log_path),
                    command=command,
                )
                if request.on_spawn is not None:
                    request.on_spawn(record)
                result = wait_until(
                    lambda env=exported: spec.check_ready(env),  # type: ignore[misc]
                    self.settings.startup_timeout,
                    alive=lambda popen=popen: popen.poll() is None,  # type: ignore[misc]
                )
            except BaseException:
                # Interrupted while waiting (Ctrl-C, a test timeout) or a fault in the spec's own code
                # after the spawn: never leave the process behind.
                stop_group(process, grace=spec.stop_grace)
                shutil.rmtree(data_dir, ignore_errors=True)
                raise
            if result.ready:
                record.ready_seconds = round(result.seconds, 3)
                return record
            stop_group(process, grace=spec.stop_grace)
            reason = result.reason()
            if result.died:
                reason = f"the process exited with code {popen.poll()} during startup"
            last_error = ServiceStartError(spec.name, reason, tail(log_path), str(log_path))
            last_error.__cause__ = result.error
            if not result.died:
                break  # a hang or a failing check is not a port race: retrying would only double the wait
        assert last_error is not None
        shutil.rmtree(data_dir, ignore_errors=True)
        raise last_error

    @staticmethod
    def _spawn(
        spec: ServiceSpec, command: dict[str, Any], log_path: Path, what: str, marker: str
    ) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if k not in command["unset"]}
        env.update(command["env"])
        argv: list[str] = command["argv"]
        with log_path.open("a") as log:
            log.write(f"--- testservices: {what}: {argv[0]}\n")
        try:
            return spawn(argv, log_path=log_path, cwd=Path(command["cwd"]), env=env, marker=marker)
        except OSError as exc:
            raise ServiceStartError(spec.name, f"could not run {argv[0]}: {exc}") from exc

    def stop(self, spec: ServiceSpec, record: ServiceRecord, *, kill: bool) -> None:
        """End the process (SIGKILL at once with `kill`, else a clean stop) and keep its data dir."""
        process = record.process
        if process is not None:
            with Path(record.log_path).open("a") as log:
                log.write(f"--- testservices: {'killing (SIGKILL)' if kill else 'stopping'} {spec.name}\n")
            stop_group(process, grace=spec.stop_grace, kill=kill)
            if record.ports and not wait_closed(record.host, list(record.ports.values())):
                raise HarnessError(f"{record.name} (pid {record.pid}) ended but its ports still accept connections")
        spec.after_stop(record.pid, Path(record.data_dir))

    def resume(
        self, spec: ServiceSpec, record: ServiceRecord, on_spawn: Callable[[ServiceRecord], None] | None = None
    ) -> ServiceRecord:
        """Run the recorded command again: same ports, same data dir, same credentials; wait until ready."""
        if not record.command:
            raise HarnessError(f"{record.name} was started by an older testservices and cannot be restarted")
        log_path = Path(record.log_path)
        marker = record.pid_marker or new_marker()
        popen = self._spawn(spec, record.command, log_path, f"starting {spec.name} again", marker)
        process = ProcessId.of(popen.pid, marker)
        record.pid, record.pid_created, record.pid_marker = process.pid, process.create_time, marker
        try:
            if on_spawn is not None:
                on_spawn(record)  # the new pid is on file before the wait: a killed run leaves nothing unknown
            result = wait_until(
                lambda: spec.check_ready(record.env),
                self.settings.startup_timeout,
                alive=lambda: popen.poll() is None,
            )
        except BaseException:
            stop_group(process, grace=spec.stop_grace)
            raise
        if not result.ready:
            stop_group(process, grace=spec.stop_grace)
            raise ServiceStartError(
                spec.name, f"restarted with its old data: {result.reason()}", tail(log_path), str(log_path)
            ) from result.error
        record.ready_seconds = round(result.seconds, 3)
        return record

    def remove(self, spec: ServiceSpec, record: ServiceRecord) -> None:
        process = record.process
        if process is not None:
            stop_group(process, grace=spec.stop_grace)
            if record.ports and not wait_closed(record.host, list(record.ports.values())):
                raise HarnessError(
                    f"{record.name} (pid {record.pid}) stopped but ports {sorted(record.ports.values())} "
                    "still accept connections; another program may have taken them"
                )
        if record.data_dir:
            data_dir = Path(record.data_dir)
            shutil.rmtree(data_dir, ignore_errors=True)
            spec.after_stop(record.pid, data_dir)
            with contextlib.suppress(OSError):
                data_dir.parent.rmdir()  # the run's data/ folder, once its last service is gone

    def is_running(self, record: ServiceRecord) -> bool:
        process = record.process
        return process is not None and process.alive()

    def reap_orphans(self) -> list[str]:
        """Every local process is recorded before it is waited on: the record-based reaper finds them all."""
        return []
