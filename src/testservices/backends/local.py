"""Real servers as child processes: free ports, 127.0.0.1 binds, a fresh data dir, one log per service."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from testservices.backends.base import StartRequest
from testservices.errors import HarnessError, ServiceStartError
from testservices.ports import free_ports
from testservices.processes import ProcessId, spawn, stop_group, tail, wait_closed
from testservices.readiness import wait_until
from testservices.settings import Settings
from testservices.specs.base import LaunchContext, ServiceSpec
from testservices.state import ServiceRecord

# A free port can be taken by another program between our check and the server's bind; a server that dies
# at once is retried on new ports this many times before we give up.
START_ATTEMPTS = 3


class LocalBackend:
    name = "local"
    manages_processes = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def start(self, spec: ServiceSpec, request: StartRequest) -> ServiceRecord:
        log_path = request.run_dir / f"{spec.name}.log"
        data_dir = request.run_dir / "data" / spec.name
        spec.before_start(self.settings)
        creds = spec.generate_secrets()
        last_error: ServiceStartError | None = None
        for attempt in range(1, START_ATTEMPTS + 1):
            shutil.rmtree(data_dir, ignore_errors=True)
            data_dir.mkdir(parents=True)
            ports = dict(zip(spec.port_roles, free_ports(len(spec.port_roles)), strict=True))
            ctx = LaunchContext(self.settings, data_dir, log_path, ports, creds, dependencies=request.dependencies)
            plan = spec.local_plan(ctx)
            env = {k: v for k, v in os.environ.items() if k not in plan.unset_env}
            env.update(plan.env)
            with log_path.open("a") as log:
                log.write(f"--- testservices: starting {spec.name} (attempt {attempt}): {plan.argv[0]}\n")
            try:
                popen = spawn(plan.argv, log_path=log_path, cwd=data_dir, env=env)
            except OSError as exc:
                raise ServiceStartError(spec.name, f"could not run {plan.argv[0]}: {exc}") from exc
            process = ProcessId.of(popen.pid)
            exported = {**spec.exports(ctx.host, ports, creds), **spec.local_exports(ctx)}
            record = request.record(
                spec,
                self.name,
                exported,
                ports,
                pid=process.pid,
                pid_created=process.create_time,
                data_dir=str(data_dir),
                log_path=str(log_path),
            )
            try:
                if request.on_spawn is not None:
                    request.on_spawn(record)
                result = wait_until(
                    lambda env=exported: spec.check_ready(env),  # type: ignore[misc]
                    self.settings.startup_timeout,
                    alive=lambda popen=popen: popen.poll() is None,  # type: ignore[misc]
                )
            except BaseException:
                # Interrupted while waiting (Ctrl-C, a test timeout): never leave the process behind.
                stop_group(process, grace=spec.stop_grace)
                shutil.rmtree(data_dir, ignore_errors=True)
                raise
            if result.ready:
                record.ready_seconds = round(result.seconds, 3)
                return record
            stop_group(process, grace=spec.stop_grace)
            if result.died:
                reason = f"the process exited with code {popen.poll()} during startup"
            else:
                reason = (
                    f"not ready after {result.seconds:.1f} s ({result.attempts} checks; last: "
                    f"{result.last_error}); raise TESTSERVICES_STARTUP_TIMEOUT if this machine is slow"
                )
            last_error = ServiceStartError(spec.name, reason, tail(log_path), str(log_path))
            if not result.died:
                break  # a hang is not a port race: retrying would only double the wait
        assert last_error is not None
        shutil.rmtree(data_dir, ignore_errors=True)
        raise last_error

    def stop(self, spec: ServiceSpec, record: ServiceRecord) -> None:
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
