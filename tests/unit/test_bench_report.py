"""The benchmark suite's arithmetic and report: ratios point the same way for rates and latencies."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from benchmarks import report, run
from benchmarks.core import MAX_REPEATS, Bench, Figure, paired_latencies, percentile, summary


def test_ratio_is_library_performance_over_raw_for_both_directions() -> None:
    rate = Figure("insert", "vectors/s", 900.0, 10.0, True, 1000.0, "raw", seed_threshold=1000)
    latency = Figure("search p50", "ms", 4.0, 0.1, False, 2.0, "raw", seed_threshold=100)
    assert rate.ratio == pytest.approx(0.9)
    assert latency.ratio == pytest.approx(0.5)  # twice as slow: half the performance
    assert rate.passed is False
    assert latency.passed is True
    assert Figure("recall", "fraction", 0.97, 0.0, True).passed is None


def test_summary_and_percentile() -> None:
    assert summary([1.0, 3.0, 2.0]) == (2.0, 1.0)
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.0, abs=1)
    assert percentile(values, 99) == pytest.approx(99.0, abs=1)


def test_results_json_and_table(tmp_path: Path) -> None:
    figures = [
        Figure("insert", "vectors/s", 900.0, 10.0, True, 1000.0, "pymilvus", seed_threshold=1000),
        Figure("cold start", "s", 4.0, 0.5, False),
    ]
    machine = {"cpus": 2, "memory_gib": 24, "platform": "Linux", "python": "3.11", "date": "today"}
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.json").write_text(
        json.dumps({"figures": [f.as_json() for f in figures], "machine": machine, "versions": {}})
    )
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    wanted = {
        "name",
        "unit",
        "value",
        "spread",
        "higher_is_better",
        "baseline",
        "baseline_name",
        "ratio",
        "seed_threshold",
    }
    assert wanted <= set(data["figures"][0])
    table = report.table(figures, machine)
    assert "| insert | 900 ± 10 vectors/s | 1,000 (pymilvus) | 0.90 | > 1,000 | **FAIL** |" in table
    assert "| cold start | 4 ± 0.5 s |  |  |  |  |" in table


def test_paired_latencies_keep_each_side_its_own_times() -> None:
    """Whichever side goes first in a pair, each time lands in its own list."""
    lib_ms, raw_ms = paired_latencies(lambda: time.sleep(0.002), lambda: None, count=30, warmup=1)
    assert len(lib_ms) == len(raw_ms) == 30
    assert min(lib_ms) >= 2.0, "every library call slept 2 ms"
    assert statistics.median(raw_ms) < 1.0, "the raw side did nothing"


def test_short_throughputs_get_more_runs_and_a_paired_ratio() -> None:
    bench = Bench(repeats=3, quick=True)
    figure = bench.throughput(
        "nap", "naps/s", 1, lambda: time.sleep(0.002), lambda: time.sleep(0.001), "shorter nap", group="t"
    )
    # 3 ms a pair: far below MIN_SECONDS, so the run count goes up to its cap.
    assert len(figure.samples) == len(figure.baseline_samples) == MAX_REPEATS
    pairs = [lib / raw for lib, raw in zip(figure.samples, figure.baseline_samples, strict=True)]
    assert figure.ratio == pytest.approx(statistics.median(pairs))
    assert figure.value == pytest.approx(statistics.median(figure.samples))


def test_check_exits_1_when_a_seed_threshold_is_missed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m benchmarks --check` end to end, on a group that needs no service."""
    monkeypatch.setenv("TESTSERVICES_HOME", str(tmp_path / "home"))

    def slow(bench: Bench, env: Mapping[str, str]) -> None:
        bench.add(Figure("inserts", "rows/s", 500.0, 5.0, True, 1000.0, "raw", seed_threshold=1000))
        bench.latency("reads", [1.0, 2.0, 3.0], [1.0, 1.0, 1.0], "raw", quantiles=(50,), group="t")

    monkeypatch.setattr(run, "GROUPS", {"slow": (slow, ())})
    # Waiting for a quiet machine (up to 90 s a group) is for real figures; on a busy CI runner it made
    # this test outlast its timeout. With no wait the settle check still runs, once.
    monkeypatch.setattr(run, "SETTLE_SECONDS", 0.0)
    out = tmp_path / "out"
    assert run.main(["--only", "slow", "--out", str(out)]) == 0, "without --check a miss is only reported"
    assert run.main(["--only", "slow", "--out", str(out), "--check"]) == 1
    printed = capsys.readouterr().out
    assert "MISSED: inserts = 500 rows/s, seed threshold 1000" in printed
    assert "inserts: 500 rows/s" in printed, "a progress line per figure"
    data = json.loads((out / "results.json").read_text())
    assert [f["name"] for f in data["figures"]] == ["inserts", "reads p50"]
    assert data["figures"][0]["ratio"] == pytest.approx(0.5)
    assert "**FAIL**" in (out / "results.md").read_text()
    assert (out / "throughput.png").stat().st_size > 0
    assert (out / "latency.png").stat().st_size > 0
