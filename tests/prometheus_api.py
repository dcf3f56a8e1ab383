"""Reading Prometheus (and other harness-served JSON APIs) from tests: shared by the monitoring and e2e suites."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback URLs from the harness
        return json.loads(answer.read())


def promql(prometheus_url: str, query: str) -> list[dict[str, Any]]:
    """The result vector of an instant query; fails the test if Prometheus refuses the query."""
    answer = get_json(f"{prometheus_url}/api/v1/query?{urllib.parse.urlencode({'query': query})}")
    assert answer["status"] == "success", answer
    return list(answer["data"]["result"])
