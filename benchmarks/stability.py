"""`nox -s stability -- [SESSIONS] [--runs N] [--load]`: run test sessions again and again, and count.

A flaky test shows on a busy laptop or CI runner, rarely on a quiet machine: this runs the chosen nox
sessions N times (optionally with one core kept busy by a CPU hog it starts and stops), and prints per
session the runs, the passes, each failing test id with how often it failed, the wall time's median and
spread, and anything the harness left running between runs. Figures only: it retries nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from testservices.backends.compose import RUN_LABEL
from testservices.processes import MARKER_VARIABLE

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "reports"
OUT = REPORTS / "stability"
DEFAULT_SESSIONS = ("unit", "redis", "kafka", "storage", "milvus", "monitoring")


@dataclass
class SessionStats:
    name: str
    walls: list[float] = field(default_factory=list)
    passes: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    leftovers: list[str] = field(default_factory=list)
    tests: list[int] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return len(self.walls)

    def row(self) -> str:
        median = statistics.median(self.walls) if self.walls else 0.0
        spread = f"{min(self.walls):.0f}-{max(self.walls):.0f}" if self.walls else "-"
        tests = f"{min(self.tests)}" if self.tests and min(self.tests) == max(self.tests) else str(self.tests)
        return (
            f"{self.name:<12} {self.runs:>4} {self.passes:>6} {self.runs - self.passes:>6} {tests:>6} "
            f"{median:>8.1f} {spread:>10} {len(self.leftovers):>9}"
        )


def _marked_processes(home: Path) -> set[str]:
    """Servers the harness started for this state dir (they carry its marker and TESTSERVICES_HOME in
    their environment), as `pid name`; another checkout's servers on the same machine are not ours."""
    found = set()
    for proc in psutil.process_iter(["pid", "name"]):
        try:
            env = proc.environ()
        except (psutil.Error, OSError):
            continue
        if MARKER_VARIABLE in env and Path(env.get("TESTSERVICES_HOME", "")).resolve() == home:
            found.add(f"pid {proc.pid} {proc.info['name']}")
    return found


def _labelled_docker_objects() -> set[str]:
    """Containers the docker backend labelled, if an engine answers (nothing to look at otherwise)."""
    try:
        out = subprocess.run(
            ["docker", "ps", "-a", "--filter", f"label={RUN_LABEL}", "--format", "{{.Names}}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return set()
    return {f"container {name}" for name in out.split()}


def _records(home: Path) -> set[str]:
    return {f"record {p.name}" for p in (home / "services").glob("*.json")}


def running_now(home: Path) -> set[str]:
    return _marked_processes(home) | _labelled_docker_objects() | _records(home)


@contextmanager
def cpu_hog(enabled: bool) -> Iterator[None]:
    """One core kept at 100 % by a busy loop of our own, ended by its pid whatever happens."""
    if not enabled:
        yield
        return
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    print(f"stability: CPU hog running as pid {hog.pid}", flush=True)
    try:
        yield
    finally:
        hog.kill()
        hog.wait()
        print(f"stability: CPU hog (pid {hog.pid}) stopped", flush=True)


def failing_tests(junit: Path) -> tuple[int, list[str]]:
    """The number of tests and the ids of the failed or errored ones in a JUnit report."""
    if not junit.exists():
        return 0, ["<no JUnit report: the session failed before pytest ran>"]
    root = ET.parse(junit).getroot()  # noqa: S314 - our own report
    cases = list(root.iter("testcase"))
    failed = [
        f"{case.get('classname')}::{case.get('name')}"
        for case in cases
        if case.find("failure") is not None or case.find("error") is not None
    ]
    return len(cases), failed


def _report_of(name: str, since: float) -> Path:
    """The JUnit report this run of the session wrote (`junit-<session>[-<backend>...].xml`)."""
    written = [
        p
        for p in (*REPORTS.glob(f"junit-{name}.xml"), *REPORTS.glob(f"junit-{name}-*.xml"))
        if p.stat().st_mtime >= since
    ]
    return max(written, key=lambda p: p.stat().st_mtime) if written else REPORTS / f"junit-{name}.xml.missing"


def _nox_env(home: Path) -> dict[str, str]:
    env = {**os.environ, "TESTSERVICES_HOME": str(home)}
    env.pop("VIRTUAL_ENV", None)  # the inner sessions use their own venvs
    return env


def install(name: str, home: Path) -> None:
    """Make the session's venv before the first timed run, so installs count in no run's wall time."""
    print(f"stability: installing what {name} needs (not timed)", flush=True)
    log = OUT / f"{name}-install.log"
    command = [sys.executable, "-m", "nox", "-s", name, "--reuse-venv=yes", "--install-only"]
    with log.open("w") as out:
        code = subprocess.run(command, cwd=ROOT, env=_nox_env(home), stdout=out, stderr=subprocess.STDOUT).returncode
    if code != 0:
        raise SystemExit(f"stability: installing {name} failed (exit {code}); see {log.relative_to(ROOT)}")
    log.unlink()


def run_session(name: str, attempt: int, stats: SessionStats, home: Path) -> None:
    since = time.time()
    log = OUT / f"{name}-run{attempt}.log"
    command = [sys.executable, "-m", "nox", "-s", name, "--reuse-venv=yes", "--no-install"]
    env = _nox_env(home)
    started = time.monotonic()
    with log.open("w") as out:
        code = subprocess.run(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False).returncode
    wall = time.monotonic() - started
    junit = _report_of(name, since)
    count, failed = failing_tests(junit)
    if code != 0 and not failed:
        failed = [f"<nox exited {code} with no failing test: see {log.relative_to(ROOT)}>"]
    stats.walls.append(wall)
    stats.tests.append(count)
    if code == 0:
        stats.passes += 1
        log.unlink()
    else:
        stats.failures.update(failed)
        if junit.exists():
            junit.rename(OUT / f"junit-{name}-run{attempt}.xml")
    verdict = "passed" if code == 0 else f"FAILED ({len(failed)}: {', '.join(failed[:3])})"
    print(f"stability: {name} run {attempt}: {verdict} in {wall:.0f} s", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="nox -s stability --",
        description="Run nox test sessions N times, optionally with one core busy, and count failures.",
    )
    parser.add_argument("sessions", nargs="*", default=list(DEFAULT_SESSIONS), help="nox sessions to repeat")
    parser.add_argument("--runs", type=int, default=5, help="runs per session (default 5)")
    parser.add_argument("--load", action="store_true", help="keep one core busy with a CPU hog meanwhile")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    OUT.mkdir(parents=True, exist_ok=True)
    home = Path(os.environ.get("TESTSERVICES_HOME", ROOT / ".testservices")).resolve()
    before = running_now(home)
    if before:
        print(f"stability: already running before the first run (not counted): {sorted(before)}", flush=True)
    table = {name: SessionStats(name) for name in args.sessions}
    started = time.monotonic()
    for name in args.sessions:
        install(name, home)
    seen = set(before)  # each leftover is counted once, against the run after which it first showed
    with cpu_hog(args.load):
        for attempt in range(1, args.runs + 1):
            for name in args.sessions:
                run_session(name, attempt, stats=table[name], home=home)
                left = sorted(running_now(home) - seen)
                if left:
                    seen.update(left)
                    table[name].leftovers += left
                    print(f"stability: LEFT RUNNING after {name} run {attempt}: {left}", flush=True)
    total = time.monotonic() - started
    print(f"\nstability: {args.runs} runs of {', '.join(args.sessions)}{' under load' if args.load else ''}")
    print(
        f"{'session':<12} {'runs':>4} {'passed':>6} {'failed':>6} {'tests':>6} {'median s':>8} {'spread s':>10} "
        f"{'leftovers':>9}"
    )
    for stats in table.values():
        print(stats.row())
        for test, count in stats.failures.most_common():
            print(f"    failed {count}x: {test}")
        for thing in stats.leftovers:
            print(f"    left running: {thing}")
    print(f"total {total / 60:.1f} min; logs of failed runs in {OUT.relative_to(ROOT)}/")
    summary = {
        "runs": args.runs,
        "load": args.load,
        "minutes": round(total / 60, 1),
        "sessions": {
            s.name: {
                "runs": s.runs,
                "passed": s.passes,
                "tests": s.tests,
                "walls": [round(w, 1) for w in s.walls],
                "failures": dict(s.failures),
                "leftovers": s.leftovers,
            }
            for s in table.values()
        },
    }
    # One file per choice of sessions, so a second measurement (e.g. `e2e` alone) keeps the first's.
    summary_file = OUT / f"summary-{'-'.join(args.sessions)}.json"
    summary_file.write_text(json.dumps(summary, indent=2))
    print(f"figures in {summary_file.relative_to(ROOT)}")
    bad = any(s.passes < s.runs or s.leftovers for s in table.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
