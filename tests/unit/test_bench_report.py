"""The benchmark suite's arithmetic and report: ratios point the same way for rates and latencies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import report
from benchmarks.core import Figure, percentile, summary


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
