"""The harness itself: cold start to ready per service and for the whole stack, a warm `nox -s redis`, and
the xdist speedup of a service suite (2 workers against 1)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from benchmarks.core import Bench, Figure, summary
from testservices.manager import ServiceManager

GROUP = "harness"
ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("redis", "kafka", "s3", "milvus", "smtp", "pushgateway", "alertmanager", "prometheus")


def run(bench: Bench, env: Mapping[str, str]) -> None:
    manager = ServiceManager()
    totals: list[float] = []
    per_service: dict[str, list[float]] = {name: [] for name in SERVICES}
    for _ in range(bench.repeats):
        total = 0.0
        for name in SERVICES:
            started = time.perf_counter()
            record = manager.start_private(name)
            seconds = time.perf_counter() - started
            manager.remove([record])
            per_service[name].append(seconds)
            total += seconds
        totals.append(total)
    for name, runs in per_service.items():
        value, spread = summary(runs)
        bench.add(Figure(f"harness cold start {name}", "s", value, spread, False, group=GROUP, samples=runs))
    value, spread = summary(totals)
    bench.add(Figure("harness cold start, whole stack", "s", value, spread, False, group=GROUP, samples=totals))
    if bench.quick:
        return
    _nox_redis(bench)
    _xdist(bench)


def _clean_env() -> dict[str, str]:
    """The environment without this run's ids, so a nested run owns (and stops) its own services."""
    drop = ("TESTSERVICES_RUN_ID", "TESTSERVICES_OWNER_PID", "COVERAGE_FILE", "PYTEST_XDIST_AUTO_NUM_WORKERS")
    return {k: v for k, v in os.environ.items() if k not in drop}


def _nox_redis(bench: Bench) -> None:
    runs = []
    for _ in range(bench.repeats):
        started = time.perf_counter()
        done = subprocess.run(
            ["nox", "-s", "redis", "-R"], cwd=ROOT, env=_clean_env(), capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"`nox -s redis -R` failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        runs.append(time.perf_counter() - started)
    value, spread = summary(runs)
    bench.add(Figure("harness `nox -s redis`, warm environment", "s", value, spread, False, group=GROUP, samples=runs))


def _xdist(bench: Bench) -> None:
    def suite(workers: int) -> float:
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "tests/redis",
                f"--numprocesses={workers}",
                "-q",
                "-p",
                "no:cacheprovider",
                "--no-cov",
            ],
            cwd=ROOT,
            env=_clean_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"redis suite with {workers} workers failed:\n{done.stdout[-2000:]}")
        return time.perf_counter() - started

    one = [suite(1) for _ in range(bench.repeats)]
    two = [suite(2) for _ in range(bench.repeats)]
    speedups = [a / b for a, b in zip(one, two, strict=True)]
    value, spread = summary(speedups)
    bench.add(
        Figure(
            "harness xdist speedup, redis suite (2 workers vs 1)",
            "x",
            value,
            spread,
            True,
            group=GROUP,
            samples=one,
            baseline_samples=two,
        )
    )
