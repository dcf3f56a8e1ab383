"""The manager against real child processes (a tiny HTTP server): start, reuse, reap, stop."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from testservices.errors import ServiceStartError
from testservices.manager import Owner, ServiceManager
from testservices.ports import is_listening
from testservices.processes import ProcessId
from testservices.settings import Settings

from .fake_service import HttpSpec


def test_ensure_starts_a_ready_service_and_records_it(manager: ServiceManager) -> None:
    endpoint = manager.ensure(["fakehttp"])["fakehttp"]
    assert not endpoint.reused
    assert endpoint.host == "127.0.0.1"
    assert is_listening(endpoint.host, endpoint.port)
    assert endpoint.env["FAKEHTTP_PORT"] == str(endpoint.port)
    [record] = manager.records()
    assert record.owner_pid == manager.owner.pid
    assert record.started_by == "unit-run"
    assert Path(record.data_dir).is_dir()
    assert endpoint.log_path is not None
    assert endpoint.log_path.exists()


def test_same_owner_reuses_and_stop_run_removes_everything(manager: ServiceManager) -> None:
    first = manager.ensure(["fakehttp"])["fakehttp"]
    second = manager.ensure(["fakehttp"])["fakehttp"]
    assert second.reused
    assert second.port == first.port
    [record] = manager.records()
    stopped = manager.remove_run()
    assert [r.name for r in stopped] == ["fakehttp"]
    assert not is_listening("127.0.0.1", first.port)
    assert not ProcessId(record.pid or 0, record.pid_created or 0).alive()
    assert not Path(record.data_dir).exists(), "the data dir must go with the service"
    assert Path(record.log_path).exists(), "the log is kept for troubleshooting"
    assert manager.records() == []


def test_another_live_owner_gets_its_own_instance(manager: ServiceManager, settings: Settings) -> None:
    mine = manager.ensure(["fakehttp"])["fakehttp"]
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        other = ServiceManager(settings=settings, owner=Owner(holder.pid, ProcessId.of(holder.pid).create_time))
        theirs = other.ensure(["fakehttp"])["fakehttp"]
        assert not theirs.reused
        assert theirs.port != mine.port
        # `down` leaves what a live run owns.
        stopped, busy = other.down()
        assert stopped == []
        assert len(busy) == 2
    finally:
        holder.kill()
        holder.wait()


def test_reaper_ends_services_of_a_dead_owner(manager: ServiceManager, settings: Settings) -> None:
    crashed = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    owner = Owner(crashed.pid, ProcessId.of(crashed.pid).create_time)
    orphan = ServiceManager(settings=settings, owner=owner, run_id="crashed-run").ensure(["fakehttp"])["fakehttp"]
    crashed.kill()  # like `kill -9` of a pytest run: nothing of it gets to clean up
    crashed.wait()
    assert is_listening(orphan.host, orphan.port)
    reaped = manager.reap()
    assert [r.started_by for r in reaped] == ["crashed-run"]
    assert not is_listening(orphan.host, orphan.port)
    assert manager.records() == []


def test_persistent_service_is_reused_by_any_owner(settings: Settings, fake_spec: HttpSpec) -> None:
    up = ServiceManager(settings=settings, persistent=True, run_id="manual")
    try:
        started = up.ensure(["fakehttp"])["fakehttp"]
        session = ServiceManager(settings=settings, run_id="session-run")
        reused = session.ensure(["fakehttp"])["fakehttp"]
        assert reused.reused
        assert reused.port == started.port
        assert session.remove_run() == [], "a session must not stop what `up` started"
        stopped, busy = session.down(["fakehttp"])
        assert [r.name for r in stopped] == ["fakehttp"]
        assert busy == []
        assert not is_listening(started.host, started.port)
    finally:
        up.remove(up.records())


def test_dead_recorded_process_is_replaced(manager: ServiceManager) -> None:
    manager.ensure(["fakehttp"])
    [record] = manager.records()
    subprocess.run(["kill", "-9", str(record.pid)], check=True)
    second = manager.ensure(["fakehttp"])["fakehttp"]
    assert not second.reused
    [replacement] = manager.records()
    assert (replacement.pid, replacement.pid_created) != (record.pid, record.pid_created), "a new server"
    assert ProcessId(replacement.pid or 0, replacement.pid_created or 0).alive()
    assert is_listening(second.host, second.port)
    assert not ProcessId(record.pid or 0, record.pid_created or 0).alive()


def test_start_failure_names_the_service_and_shows_its_log(
    manager: ServiceManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    from testservices import specs

    monkeypatch.setitem(specs.SPECS, "fakehttp", HttpSpec(fail=True))
    with pytest.raises(ServiceStartError) as info:
        manager.ensure(["fakehttp"])
    message = str(info.value)
    assert "fakehttp did not start" in message
    assert "exited with code 3" in message
    assert "boom: bad config" in message, "the tail of the service log belongs in the error"
    assert manager.records() == []


def test_readiness_timeout_is_reported_with_the_last_error(
    settings: Settings, fake_spec: HttpSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never_ready(env: object) -> None:
        raise ConnectionRefusedError("nobody home")

    monkeypatch.setattr(fake_spec, "check_ready", never_ready)
    impatient = Settings(**{**settings.__dict__, "startup_timeout": 0.5})
    mgr = ServiceManager(settings=impatient, run_id="slow")
    with pytest.raises(ServiceStartError, match=r"not ready after .* nobody home.*TESTSERVICES_STARTUP_TIMEOUT"):
        mgr.ensure(["fakehttp"])
    assert mgr.records() == []


def test_a_fault_in_the_spec_after_the_spawn_leaves_no_process(
    manager: ServiceManager, fake_spec: HttpSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in a spec's own code between the spawn and the readiness wait (it once was a TypeError in
    `exports`) must end the server it just started, not leave it running with no record to find it by."""
    from testservices.processes import spawn as real_spawn

    spawned: list[subprocess.Popen[bytes]] = []

    def spawn_and_remember(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        spawned.append(real_spawn(*args, **kwargs))  # type: ignore[arg-type]
        return spawned[-1]

    def broken_exports(ctx: object) -> dict[str, str]:
        raise TypeError("a bug in the spec")

    monkeypatch.setattr("testservices.backends.local.spawn", spawn_and_remember)
    monkeypatch.setattr(fake_spec, "extra_exports", broken_exports)
    with pytest.raises(TypeError, match="a bug in the spec"):
        manager.ensure(["fakehttp"])
    assert len(spawned) == 1
    assert spawned[0].poll() is not None, "the server started before the fault was ended"
    assert manager.records() == []
