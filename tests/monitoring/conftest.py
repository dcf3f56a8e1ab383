"""Fixtures for the monitoring suite: the wired Prometheus stack, PromQL and mail helpers."""

from __future__ import annotations

from typing import Any

import pytest

from testservices.state import Endpoint

from ..prometheus_api import TIMEOUT_S, get_json, http, promql

__all__ = ["get_json", "promql"]  # the suite's modules import them from here


@pytest.fixture(scope="session")
def stack(
    prometheus_service: Endpoint, pushgateway_service: Endpoint, alertmanager_service: Endpoint, smtp_service: Endpoint
) -> dict[str, str]:
    """The variables of the whole stack (Prometheus brings the others up first; these reuse them)."""
    return {**smtp_service.env, **alertmanager_service.env, **pushgateway_service.env, **prometheus_service.env}


def reload_prometheus(prometheus_url: str) -> None:
    """Make Prometheus read its rule files again (the harness starts it with --web.enable-lifecycle)."""
    http.post(f"{prometheus_url}/-/reload", timeout=TIMEOUT_S).raise_for_status()


def mails(api_url: str) -> list[dict[str, Any]]:
    return list(get_json(api_url))


def series_values(prometheus_url: str, query: str, label: str) -> dict[str, float]:
    return {r["metric"][label]: float(r["value"][1]) for r in promql(prometheus_url, query)}
