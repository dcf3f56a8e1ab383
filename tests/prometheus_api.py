"""Reading Prometheus (and other harness-served HTTP APIs) from tests: shared by the monitoring and e2e suites.

One `requests` session for the whole test process (connections are kept alive between the many polls of a
test), and a timeout on every call, so a hung server fails the test instead of hanging it.
"""

from __future__ import annotations

from typing import Any

import requests

TIMEOUT_S = 10.0
http = requests.Session()


def get_json(url: str) -> Any:
    """The JSON body of a GET; an HTTP error status fails the test (raises `requests.HTTPError`)."""
    answer = http.get(url, timeout=TIMEOUT_S)
    answer.raise_for_status()
    return answer.json()


def promql(prometheus_url: str, query: str) -> list[dict[str, Any]]:
    """The result vector of an instant query; fails the test if Prometheus refuses the query."""
    answer = http.get(f"{prometheus_url}/api/v1/query", params={"query": query}, timeout=TIMEOUT_S)
    answer.raise_for_status()
    body = answer.json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])
