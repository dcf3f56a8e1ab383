"""Child processes the local backend owns: start in their own process group, stop all of them.

A process is identified by its pid *and* its start time, so a recorded pid that the kernel has since
given to an unrelated program is never signalled; the helpers a server forks are found by a marker in
their environment, never by a process group id alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

# Set in the environment of every server the harness starts, to a token recorded with it: children inherit
# it, so it proves a process is ours where a pid (reused after a reboot or wrap-around) or a process group
# id (every shell job leads one) proves nothing.
MARKER_VARIABLE = "TESTSERVICES_PROCESS_MARKER"


def new_marker() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class ProcessId:
    pid: int
    create_time: float
    # The MARKER_VARIABLE value the process was started with; "" for a process the harness did not spawn
    # (an owner, a log follower), which is then never looked for among strangers.
    marker: str = ""

    @classmethod
    def of(cls, pid: int, marker: str = "") -> ProcessId:
        return cls(pid, psutil.Process(pid).create_time(), marker)

    def process(self) -> psutil.Process | None:
        """The very process we started while it runs (a zombie counts as gone), else None. Signal through
        this object: psutil signals only the process it was made for, never a later one with its pid."""
        try:
            proc = psutil.Process(self.pid)
            if abs(proc.create_time() - self.create_time) > 0.01 or proc.status() == psutil.STATUS_ZOMBIE:
                return None
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        return proc

    def alive(self) -> bool:
        return self.process() is not None


def spawn(
    argv: Sequence[str],
    *,
    log_path: Path,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    marker: str = "",
) -> subprocess.Popen[bytes]:
    """Start a server detached from our terminal and signals, writing all its output to `log_path`.

    `start_new_session` makes it a process-group leader: teardown finds the helpers some servers fork
    (Milvus does) by their group, and Ctrl-C in the terminal does not kill it before our own cleanup runs.
    `marker` goes into its environment (see MARKER_VARIABLE).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    child_env = dict(os.environ if env is None else env)
    if marker:
        child_env[MARKER_VARIABLE] = marker
    with log_path.open("ab") as log:
        return subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _carries_marker(proc: psutil.Process, leader: ProcessId) -> bool:
    """Whether `proc` was started by us as part of `leader`'s instance: born no earlier than the leader and
    carrying its marker. A process that exits or hides its environment while we look is not ours."""
    if not leader.marker:
        return False
    try:
        if proc.create_time() + 0.01 < leader.create_time:
            return False
        return proc.environ().get(MARKER_VARIABLE) == leader.marker
    except (psutil.Error, OSError):
        return False


def _ours(leader: ProcessId) -> list[psutil.Process]:
    """The processes of `leader`'s instance still running: the leader and its descendants when it lives;
    besides those, members of its process group that carry its marker (helpers that outlived it or left
    the tree). Nothing is taken on a pid or group id alone."""
    found: dict[int, psutil.Process] = {}
    root = leader.process()
    if root is not None:
        found[root.pid] = root
        with contextlib.suppress(psutil.Error):
            for child in root.children(recursive=True):
                found[child.pid] = child
    for proc in psutil.process_iter():
        if proc.pid in found:
            continue
        try:
            in_group = os.getpgid(proc.pid) == leader.pid
        except OSError:
            continue  # exited while we looked
        if in_group and _carries_marker(proc, leader):
            found[proc.pid] = proc
    return list(found.values())


def stop_group(leader: ProcessId, grace: float = 10.0, *, kill: bool = False) -> bool:
    """SIGTERM the processes of the leader's instance (see `_ours`), SIGKILL after `grace` s; with `kill`,
    SIGKILL at once (a crash, as fault tests want it: no clean shutdown, no final flush).

    Each process is signalled through psutil, which checks its identity first, never by `killpg` on a
    group id that may since belong to a stranger. Returns True when something was running. Safe to call
    on a process that already exited, and on processes that exit while it runs.
    """
    targets = _ours(leader)
    if not targets:
        _reap_child(leader.pid)
        return False
    for sig in (signal.SIGKILL,) if kill else (signal.SIGTERM, signal.SIGKILL):
        for proc in targets:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(sig)
        _gone, alive = psutil.wait_procs(targets, timeout=grace if sig == signal.SIGTERM else 5.0)
        # A server may fork while it shuts down: look again, so the SIGKILL round reaches those too.
        targets = list({p.pid: p for p in [*alive, *_ours(leader)]}.values())
        if not targets:
            break
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

    waiting = Retrying(retry=retry_if_result(bool), wait=wait_fixed(0.05), stop=stop_after_delay(timeout))
    try:
        waiting(lambda: any(is_listening(host, p, timeout=0.2) for p in ports))
    except RetryError:
        return False
    return True
