"""Stopping, killing and restarting one instance (what fault tests do), against a real child process."""

from __future__ import annotations

from pathlib import Path

import pytest

from testservices.control import ServiceControl
from testservices.errors import HarnessError
from testservices.manager import ServiceManager
from testservices.ports import is_listening
from testservices.processes import ProcessId
from testservices.specs.base import http_get


def _body(control: ServiceControl, name: str) -> bytes:
    url = f"http://127.0.0.1:{control.env['FAKEHTTP_PORT']}/{name}"
    return http_get(url).content  # a 4xx/5xx raises


@pytest.mark.parametrize("kill", [True, False], ids=["sigkill", "clean-stop"])
def test_restart_keeps_ports_credentials_and_data(manager: ServiceManager, kill: bool) -> None:
    control = ServiceControl(manager, manager.start_private("fakehttp"))
    before = dict(control.env)
    old = control.record.process
    assert old is not None
    (Path(control.record.data_dir) / "kept.txt").write_text("still here")

    if kill:
        control.kill()
    else:
        control.stop()
    assert not old.alive()
    assert not is_listening("127.0.0.1", int(before["FAKEHTTP_PORT"]))
    assert not control.running
    [record] = manager.records()
    assert record.stopped, "a stopped instance stays recorded, so nobody reaps or replaces it"
    assert manager.reap() == [], "the reaper leaves a service a live test stopped on purpose"

    seconds = control.start()
    assert seconds < 20
    assert manager.backend.is_running(control.record)
    assert control.env == before, "same port and credentials after the restart"
    assert _body(control, "kept.txt") == b"still here", "the data dir survived"
    new = control.record.process
    assert new is not None
    assert new.pid != old.pid
    [record] = manager.records()
    assert not record.stopped
    assert record.pid == new.pid, "the new pid is on file: teardown and the reaper find it"


def test_private_instances_are_never_shared(manager: ServiceManager) -> None:
    private = manager.start_private("fakehttp")
    shared = manager.ensure(["fakehttp"])["fakehttp"]
    assert shared.port != private.port
    assert not shared.reused
    assert Path(private.log_path).name == f"fakehttp-{private.instance}.log"
    assert Path(private.data_dir) != Path(private.run_dir) / "data" / "fakehttp"
    assert "fakehttp" not in {name for name, e in manager.running_endpoints().items() if e.port == private.port}


def test_restart_refuses_the_wrong_order(manager: ServiceManager) -> None:
    control = ServiceControl(manager, manager.start_private("fakehttp"))
    with pytest.raises(HarnessError, match="is running"):
        control.start()
    control.kill()
    with pytest.raises(HarnessError, match="already stopped"):
        control.kill()
    control.remove()
    assert manager.records() == []
    assert not ProcessId(control.record.pid or 0, control.record.pid_created or 0).alive()


def test_settle_waits_for_lazy_persistence_only(manager: ServiceManager) -> None:
    control = ServiceControl(manager, manager.start_private("fakehttp"))
    control.wrote()
    assert control.settle() == 0.0  # the fake service, like most, persists at once
