"""Teardown signals only processes proven to be ours: never a stranger that inherited a recorded pid or
process group id, and never an error when a process exits while we look."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from testservices.processes import MARKER_VARIABLE, ProcessId, spawn, stop_group

from ..waiting import eventually

SLEEPER = "import time; time.sleep(60)"
# A group leader that forks a helper into its own group, prints the helper's pid, and sleeps.
FORKS_A_HELPER = (
    "import subprocess, sys, time; "
    f"p = subprocess.Popen([sys.executable, '-c', {SLEEPER!r}]); print(p.pid, flush=True); time.sleep(60)"
)


@pytest.fixture
def stranger() -> Iterator[subprocess.Popen[bytes]]:
    """Somebody else's shell job: a process-group leader with a child in its group, not started by us."""
    proc = subprocess.Popen([sys.executable, "-c", FORKS_A_HELPER], start_new_session=True, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    int(proc.stdout.readline())  # its helper runs
    yield proc
    with contextlib.suppress(ProcessLookupError):  # a test that failed may have ended it already
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _group(pgid: int) -> list[int]:
    found = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid:
                found.append(proc.pid)
        except OSError:
            continue
    return found


def test_a_recorded_pid_now_leading_a_strangers_group_is_left_alone(stranger: subprocess.Popen[bytes]) -> None:
    """After a reboot or pid wrap-around our old leader's pid leads an unrelated group: the record's start
    time says it is not our process, and nothing in that group carries our marker."""
    members = _group(stranger.pid)
    assert len(members) == 2
    ours_long_ago = ProcessId(stranger.pid, psutil.Process(stranger.pid).create_time() - 1000, "our-marker")
    assert stop_group(ours_long_ago, grace=1) is False
    time.sleep(0.2)
    assert stranger.poll() is None, "the stranger's leader was signalled"
    assert sorted(_group(stranger.pid)) == sorted(members), "a member of the stranger's group was signalled"


def test_a_record_without_marker_never_reaches_beyond_its_own_pid(stranger: subprocess.Popen[bytes]) -> None:
    """A record from before markers existed proves nothing about a group: only its own (verified) pid."""
    old_record = ProcessId(stranger.pid, psutil.Process(stranger.pid).create_time() - 1000)
    assert stop_group(old_record, grace=1) is False
    assert stranger.poll() is None
    assert len(_group(stranger.pid)) == 2


def test_helpers_that_outlive_their_leader_are_found_by_the_marker(tmp_path: Path) -> None:
    """Our leader died (SIGKILL) and left a forked helper holding its ports: it carries the marker, so it
    is ended, and a stranger sharing nothing with it is not."""
    log = tmp_path / "server.log"
    leader_proc = spawn([sys.executable, "-c", FORKS_A_HELPER], log_path=log, cwd=tmp_path, marker="m-123")
    written = eventually(lambda: log.read_text().strip(), "the helper's pid in the log", timeout=10, interval=0.05)
    helper = psutil.Process(int(written.split()[0]))
    assert helper.environ()[MARKER_VARIABLE] == "m-123"
    leader = ProcessId.of(leader_proc.pid, "m-123")
    leader_proc.kill()
    leader_proc.wait()
    assert not leader.alive()
    assert helper.is_running()
    assert stop_group(leader, grace=5) is True
    assert not helper.is_running() or helper.status() == psutil.STATUS_ZOMBIE


def test_a_process_that_exits_while_we_look_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stranger: subprocess.Popen[bytes]
) -> None:
    """Every check of a candidate can meet a process that is gone by then: none of them may raise."""

    def vanished(self: psutil.Process) -> dict[str, str]:
        raise psutil.NoSuchProcess(self.pid)

    monkeypatch.setattr(psutil.Process, "environ", vanished)
    ghost = ProcessId(stranger.pid, psutil.Process(stranger.pid).create_time() - 1000, "gone")
    assert stop_group(ghost, grace=1) is False
    assert stranger.poll() is None
