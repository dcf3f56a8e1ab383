"""Figures and how they are measured: warm up, repeat, report the median and the spread.

`ratio` is the library's performance relative to the raw driver doing the same work: for throughputs the
median of the run-by-run ratios (library run / the raw run beside it), for latencies baseline/value of the
quantile. 1.0 means no cost; below 1.0 the library is slower.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    name: str
    unit: str
    value: float
    spread: float
    higher_is_better: bool
    baseline: float | None = None
    baseline_name: str | None = None
    ratio: float | None = None
    seed_threshold: float | None = None
    group: str = ""
    # Raw samples for the plots (latency distributions); not written to results.json.
    samples: list[float] = field(default_factory=list, repr=False)
    baseline_samples: list[float] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.baseline and self.ratio is None:
            self.ratio = self.value / self.baseline if self.higher_is_better else self.baseline / self.value

    @property
    def passed(self) -> bool | None:
        if self.seed_threshold is None:
            return None
        return self.value > self.seed_threshold if self.higher_is_better else self.value < self.seed_threshold

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("samples", "baseline_samples"):
            data.pop(key)
        return data


def summary(values: Sequence[float]) -> tuple[float, float]:
    """Median and spread (half the range) of repeated measurements."""
    return statistics.median(values), (max(values) - min(values)) / 2


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def paired_latencies(
    library: Callable[[], Any], raw: Callable[[], Any], count: int, warmup: int = 20
) -> tuple[list[float], list[float]]:
    """Milliseconds per call of each, in pairs: on a shared 2-core machine a noisy second then lands on
    both sides instead of on whichever happened to run in it. Which side goes first is drawn per pair:
    against a server that answers on a clock (Milvus' Strong reads wait for its time tick), a fixed order
    locks one side to the moment after the tick and the other to the wait (p50 21 ms against 39 ms)."""
    for _ in range(warmup):
        library()
        raw()
    order = random.Random(7)
    lib_ms, raw_ms = [], []
    for _ in range(count):
        first, second = (library, raw) if order.random() < 0.5 else (raw, library)
        started = time.perf_counter()
        first()
        middle = time.perf_counter()
        second()
        ended = time.perf_counter()
        one, two = (middle - started) * 1000, (ended - middle) * 1000
        lib_ms.append(one if first is library else two)
        raw_ms.append(two if first is library else one)
    return lib_ms, raw_ms


MIN_SECONDS = 6.0  # a throughput figure is measured for at least this long (both sides together) ...
MAX_REPEATS = 9  # ... or this many runs of each side, whichever comes first


class Bench:
    """Collects figures and prints a progress line per figure as it is measured."""

    def __init__(self, repeats: int, quick: bool) -> None:
        self.repeats = repeats
        self.quick = quick
        self.figures: list[Figure] = []

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        line = f"  {figure.name}: {figure.value:,.3g} {figure.unit} (±{figure.spread:,.2g})"
        if figure.baseline is not None:
            line += f", {figure.baseline_name} {figure.baseline:,.3g}, ratio {figure.ratio:.2f}"
        if figure.passed is not None:
            line += f", seed {'<' if not figure.higher_is_better else '>'} {figure.seed_threshold:g}: "
            line += "ok" if figure.passed else "MISSED"
        print(line, flush=True)
        return figure

    def throughput(
        self,
        name: str,
        unit: str,
        work: int,
        library: Callable[[], Any],
        raw: Callable[[], Any] | None = None,
        raw_name: str | None = None,
        *,
        threshold: float | None = None,
        group: str,
        setup: Callable[[], Any] | None = None,
    ) -> Figure:
        """`work` units per second of each callable, library and raw run in pairs, after one
        untimed run of each (connections made, code paths warm, server caches filled alike).

        Short figures get more runs (up to MAX_REPEATS, until MIN_SECONDS have gone by): on a shared
        2-core machine one noisy second moves a sub-second run by 20% or more. The ratio is the median of
        the run-by-run ratios (each library run against the raw run beside it), which a slow stretch of
        the machine moves less than a ratio of two medians.
        """
        for fn in (library, raw):
            if fn is not None:
                if setup:
                    setup()
                fn()
        lib_runs: list[float] = []
        raw_runs: list[float] = []
        order = random.Random(11)
        started = time.perf_counter()
        while len(lib_runs) < self.repeats or (
            len(lib_runs) < MAX_REPEATS and time.perf_counter() - started < MIN_SECONDS
        ):
            # Which side runs first is drawn per pair, as for latencies: what a run leaves behind on the
            # server (Milvus indexing the rows just written) then weighs on both sides alike.
            sides = [(library, lib_runs), (raw, raw_runs)]
            if order.random() < 0.5:
                sides.reverse()
            for fn, runs in sides:
                if fn is not None:
                    if setup:
                        setup()
                    runs.append(work / timed(fn))
        value, spread = summary(lib_runs)
        baseline = summary(raw_runs)[0] if raw_runs else None
        ratio = statistics.median(a / b for a, b in zip(lib_runs, raw_runs, strict=True)) if raw_runs else None
        return self.add(
            Figure(
                name,
                unit,
                value,
                spread,
                True,
                baseline,
                raw_name,
                ratio,
                seed_threshold=threshold,
                group=group,
                samples=lib_runs,
                baseline_samples=raw_runs,
            )
        )

    def latency(
        self,
        name: str,
        library_ms: Sequence[float],
        raw_ms: Sequence[float] | None,
        raw_name: str | None,
        *,
        quantiles: Sequence[int],
        thresholds: dict[int, float] | None = None,
        group: str,
    ) -> list[Figure]:
        figures = []
        for q in quantiles:
            value = percentile(library_ms, q)
            # Spread: how much the quantile moves between the halves of the run.
            half = len(library_ms) // 2
            spread = abs(percentile(library_ms[:half], q) - percentile(library_ms[half:], q)) / 2
            baseline = percentile(raw_ms, q) if raw_ms else None
            figures.append(
                self.add(
                    Figure(
                        f"{name} p{q}",
                        "ms",
                        value,
                        spread,
                        False,
                        baseline,
                        raw_name,
                        seed_threshold=(thresholds or {}).get(q),
                        group=group,
                        samples=list(library_ms),
                        baseline_samples=list(raw_ms or []),
                    )
                )
            )
        return figures
