"""Child processes the local backend owns: start in their own process group, stop the whole group.

A process is identified by its pid *and* its start time, so a recorded pid that the kernel has since
given to an unrelated program is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class ProcessId:
    pid: int
    create_time: float

    @classmethod
    def of(cls, pid: int) -> ProcessId:
        return cls(pid, psutil.Process(pid).create_time())

    def alive(self) -> bool:
        """True while the very process we started runs (a zombie counts as gone)."""
        try:
            proc = psutil.Process(self.pid)
            if abs(proc.create_time() - self.create_time) > 0.01:
                return False
            return proc.status() != psutil.STATUS_ZOMBIE
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False


def spawn(
    argv: Sequence[str], *, log_path: Path, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a server detached from our terminal and signals, writing all its output to `log_path`.

    `start_new_session` makes it a process-group leader: teardown signals the group, which reaches the
    helpers some servers fork (Milvus does), and Ctrl-C in the terminal does not kill it before our own
    cleanup runs.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _group_members(pgid: int) -> list[psutil.Process]:
    members = []
    for proc in psutil.process_iter(["pid"]):
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(proc.pid) == pgid:
                members.append(proc)
    return members


def stop_group(leader: ProcessId, grace: float = 10.0, *, kill: bool = False) -> bool:
    """SIGTERM the leader's process group (and any descendant that left it), SIGKILL after `grace` s;
    with `kill`, SIGKILL at once (a crash, as fault tests want it: no clean shutdown, no final flush).

    Returns True when something was running. Safe to call on a process that already exited.
    """
    if not leader.alive():
        # The leader is gone but helpers it forked may still hold ports: end its group if any remain.
        members = _group_members(leader.pid)
        if not members:
            return False
        targets = members
    else:
        root = psutil.Process(leader.pid)
        with contextlib.suppress(psutil.Error):
            targets = [root, *root.children(recursive=True)]
        targets.extend(p for p in _group_members(leader.pid) if p not in targets)
    for sig in (signal.SIGKILL,) if kill else (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(leader.pid, sig)
        for proc in targets:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(sig)
        _gone, alive = psutil.wait_procs(targets, timeout=grace if sig == signal.SIGTERM else 5.0)
        if not alive:
            break
        targets = alive
    _reap_child(leader.pid)
    return True


def _reap_child(pid: int) -> None:
    """Collect the exit status if the process was our own child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def tail(path: Path | None, lines: int = 40, max_bytes: int = 64_000) -> str:
    """The last `lines` lines of a log, read from the end so a huge log costs nothing."""
    if path is None or not path.exists():
        return ""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(size - max_bytes, 0))
        data = handle.read().decode("utf-8", errors="replace")
    return "\n".join(data.splitlines()[-lines:])


def wait_closed(host: str, ports: Sequence[int], timeout: float = 10.0) -> bool:
    """Wait until nothing listens on `ports` any more (a server may close them after its pid exits)."""
    from testservices.ports import is_listening

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(is_listening(host, p, timeout=0.2) for p in ports):
            return True
        time.sleep(0.05)
    return False
