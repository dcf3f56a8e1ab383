"""Fixtures for the monitoring suite: the wired Prometheus stack, PromQL and mail helpers."""

from __future__ import annotations

import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from testservices.state import Endpoint

from ..prometheus_api import get_json, promql

__all__ = ["get_json", "promql"]  # the suite's modules import them from here

T = TypeVar("T")


@pytest.fixture(scope="session")
def stack(
    prometheus_service: Endpoint, pushgateway_service: Endpoint, alertmanager_service: Endpoint, smtp_service: Endpoint
) -> dict[str, str]:
    """The variables of the whole stack (Prometheus brings the others up first; these reuse them)."""
    return {**smtp_service.env, **alertmanager_service.env, **pushgateway_service.env, **prometheus_service.env}


def reload_prometheus(prometheus_url: str) -> None:
    request = urllib.request.Request(f"{prometheus_url}/-/reload", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def mails(api_url: str) -> list[dict[str, Any]]:
    return list(get_json(api_url))


def series_values(prometheus_url: str, query: str, label: str) -> dict[str, float]:
    return {r["metric"][label]: float(r["value"][1]) for r in promql(prometheus_url, query)}


def until_equal(produce: Callable[[], T], expected: T, timeout: float = 30.0) -> T:
    """Poll until `produce()` equals `expected` (a scrape may land between two increments); fail with the last."""
    deadline = time.monotonic() + timeout
    while True:
        value = produce()
        if value == expected or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def eventually(produce: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.25) -> T:
    """Poll until `produce` returns something truthy; fail with the time waited."""
    deadline = time.monotonic() + timeout
    while True:
        value = produce()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout:g} s", pytrace=False)
        time.sleep(interval)
