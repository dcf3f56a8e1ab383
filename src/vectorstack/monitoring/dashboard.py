"""A Grafana dashboard generated from the metric definitions, so that no metric is left without a panel."""

from __future__ import annotations

from typing import Any

from vectorstack.monitoring.metrics import Metrics


def _query(name: str, kind: str) -> str:
    if kind == "histogram":
        return f"histogram_quantile(0.95, sum by (le, service, operation) (rate({name}_bucket[5m])))"
    if kind == "counter":
        return f"sum by (service, operation) (rate({name}_total[5m]))"
    return name


def grafana_dashboard(metrics: Metrics, *, title: str = "vectorstack") -> dict[str, Any]:
    panels = []
    families = sorted(metrics.registry.collect(), key=lambda f: f.name)
    for index, family in enumerate(families):
        panels.append(
            {
                "id": index + 1,
                "type": "timeseries",
                "title": family.name,
                "description": family.documentation,
                "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "targets": [{"refId": "A", "expr": _query(family.name, family.type)}],
            }
        )
    return {
        "title": title,
        "uid": "vectorstack",
        "schemaVersion": 39,
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]},
        "panels": panels,
    }
