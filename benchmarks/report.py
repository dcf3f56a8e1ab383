"""results.json, results.md and the plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.core import Figure


def write(out: Path, figures: list[Figure], machine: dict[str, Any], versions: dict[str, str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        json.dumps({"figures": [f.as_json() for f in figures], "machine": machine, "versions": versions}, indent=2)
    )
    (out / "results.md").write_text(table(figures, machine))
    plots(out, figures)


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def table(figures: list[Figure], machine: dict[str, Any]) -> str:
    lines = [
        f"Measured on {machine['cpus']} CPUs, {machine['memory_gib']} GiB, {machine['platform']}, "
        f"Python {machine['python']} ({machine['date']}). Ratio: library performance / raw driver's "
        "(1.0 = no cost).",
        "",
        "| figure | value | raw driver | ratio | seed threshold | result |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        raw = f"{_fmt(f.baseline)} ({f.baseline_name})" if f.baseline is not None else ""
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else ""
        seed = f"{'>' if f.higher_is_better else '<'} {_fmt(f.seed_threshold)}" if f.seed_threshold is not None else ""
        result = {None: "", True: "pass", False: "**FAIL**"}[f.passed]
        lines.append(
            f"| {f.name} | {_fmt(f.value)} ± {_fmt(f.spread)} {f.unit} | {raw} | {ratio} | {seed} | {result} |"
        )
    return "\n".join(lines) + "\n"


def plots(out: Path, figures: list[Figure]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    latency = [f for f in figures if f.unit == "ms" and f.name.endswith("p50") and f.samples]
    if latency:
        fig, axes = plt.subplots(1, len(latency), figsize=(4 * len(latency), 4), squeeze=False)
        for ax, f in zip(axes[0], latency, strict=True):
            data = [f.samples] + ([f.baseline_samples] if f.baseline_samples else [])
            ax.boxplot(data, tick_labels=["library", "raw"][: len(data)], showfliers=False)
            ax.set_title(f.name.removesuffix(" p50"), fontsize=9)
            ax.set_ylabel("ms")
        fig.tight_layout()
        fig.savefig(out / "latency.png", dpi=110)
        plt.close(fig)
    rates = [f for f in figures if f.unit.endswith("/s") and f.baseline is not None]
    if rates:
        fig, ax = plt.subplots(figsize=(10, 0.45 * len(rates) + 1.5))
        names = [f.name for f in rates]
        ratios = [f.ratio or 0 for f in rates]
        ax.barh(names, ratios, color=["tab:green" if r >= 0.9 else "tab:orange" for r in ratios])
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.axvline(0.9, color="grey", linestyle="--", linewidth=0.8)
        ax.set_xlabel("library throughput / raw driver throughput")
        ax.invert_yaxis()
        fig.tight_layout()
        fig.savefig(out / "throughput.png", dpi=110)
        plt.close(fig)
    starts = [f for f in figures if f.name.startswith("harness cold start")]
    if starts:
        fig, ax = plt.subplots(figsize=(8, 0.4 * len(starts) + 1.5))
        ax.barh(
            [f.name.removeprefix("harness cold start").strip(" ,") for f in starts],
            [f.value for f in starts],
            xerr=[f.spread for f in starts],
        )
        ax.set_xlabel("seconds to ready")
        ax.invert_yaxis()
        fig.tight_layout()
        fig.savefig(out / "harness.png", dpi=110)
        plt.close(fig)
