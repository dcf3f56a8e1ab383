"""Faults on purpose: stop, kill and start again one service instance, keeping its data.

Fault tests get a private instance (`ServiceManager.start_private`), so restarting it never disturbs the
tests other xdist workers run against the shared services:

    def test_worker_survives_a_redis_crash(private_service):
        redis = private_service("redis")
        ...  # point the code under test at redis.env
        redis.kill()                    # SIGKILL: no clean shutdown, as in a crash
        seconds = redis.start()         # same ports, same data dir, same credentials; waits until ready

Local backend: the process group is signalled and the recorded command runs again. Docker backend: the
same container is killed (SIGKILL) or stopped and started again through the docker SDK; its volumes and
its host ports stay, and its log keeps streaming into the same file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from testservices.errors import HarnessError
from testservices.manager import ServiceManager
from testservices.specs import get_spec
from testservices.state import Endpoint, ServiceRecord


@dataclass
class ServiceControl:
    manager: ServiceManager
    record: ServiceRecord
    # The last write time the caller told us about (see `wrote()`), for brokers that persist lazily.
    _last_write: float = 0.0

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def env(self) -> dict[str, str]:
        """Connection variables; the same before and after a restart (ports and credentials are kept)."""
        return dict(self.record.env)

    @property
    def endpoint(self) -> Endpoint:
        return self.record.endpoint()

    @property
    def running(self) -> bool:
        return not self.record.stopped and self.manager.backend.is_running(self.record)

    def wrote(self) -> None:
        """Note that something was just written to the service (see `settle`)."""
        self._last_write = time.monotonic()

    def settle(self) -> float:
        """Wait until the service has persisted what was written before the last `wrote()`.

        Real Kafka, Redis with appendfsync and Milvus keep acknowledged writes through a SIGKILL; noida (the
        local Kafka) snapshots its state about a second after a change, so a kill sooner loses that second.
        Returns the seconds waited (0 for services that persist at once)."""
        delay = get_spec(self.name).persist_delay(self.record.env)
        left = self._last_write + delay - time.monotonic() if self._last_write else delay
        if left > 0:
            time.sleep(left)
        return max(left, 0.0)

    def kill(self) -> None:
        """SIGKILL (docker: `kill -s SIGKILL`): the service gets no chance to flush or say goodbye."""
        self._stop(kill=True)

    def stop(self) -> None:
        """A clean stop (SIGTERM, SIGKILL after the spec's grace)."""
        self._stop(kill=False)

    def _stop(self, *, kill: bool) -> None:
        if self.record.stopped:
            raise HarnessError(f"{self.name} is already stopped; start() it first")
        self.record = self.manager.stop(self.record, kill=kill)

    def start(self) -> float:
        """Start it again on its data and ports; returns the seconds until it answered."""
        if not self.record.stopped:
            raise HarnessError(f"{self.name} is running; stop() or kill() it first")
        started = time.monotonic()
        self.record = self.manager.resume(self.record)
        return time.monotonic() - started

    def restart(self, *, kill: bool = True) -> float:
        """Kill (or stop) and start again; returns the seconds from the restart until it answered."""
        self._stop(kill=kill)
        return self.start()

    def remove(self) -> None:
        """Stop it for good and delete its data (the fixture does this at teardown). SIGKILL: its data
        goes anyway, so a clean shutdown would only cost time (Milvus can take 10 s and more)."""
        if not self.record.stopped and self.manager.backend.is_running(self.record):
            self.kill()
        self.manager.remove([self.record])
