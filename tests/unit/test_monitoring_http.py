"""The Pushgateway client's HTTP: errors classified by what happened, transient answers retried, nothing else.

A real HTTP server on loopback (http.server in a thread) plays the gateway and answers what each test says.
"""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests

from vectorstack.errors import (
    AuthenticationError,
    InvalidInputError,
    ServerError,
    ServiceUnavailableError,
)
from vectorstack.monitoring import Metrics, Pushgateway


@dataclass
class Gateway:
    """What the fake gateway answers (one status per request, the last one repeated) and what it received."""

    url: str
    statuses: list[int] = field(default_factory=lambda: [200])
    received: list[tuple[str, str, bytes]] = field(default_factory=list)

    def answer(self) -> int:
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def _reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            state.received.append((self.command, self.path, self.rfile.read(length)))
            status = state.answer()
            body = b"" if status < 400 else f"answer {status} from the test".encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_PUT = do_POST = do_DELETE = _reply

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def _metrics() -> Metrics:
    metrics = Metrics(system=False)
    metrics.counter("pushed_things", "things pushed by the test").inc()
    return metrics


def test_a_push_is_a_put_of_the_exposition_text(gateway: Gateway) -> None:
    _metrics().push(gateway.url, "nightly", grouping_key={"instance": "w1"})
    Metrics.delete_pushed(gateway.url, "nightly", grouping_key={"instance": "w1"})
    (method, path, body), (deleted, deleted_path, _) = gateway.received
    assert (method, path) == ("PUT", "/metrics/job/nightly/instance/w1")
    assert b"pushed_things_total 1.0" in body
    assert (deleted, deleted_path) == ("DELETE", "/metrics/job/nightly/instance/w1")


def test_a_refused_push_is_a_refusal_not_an_outage(gateway: Gateway) -> None:
    gateway.statuses = [400]
    with pytest.raises(InvalidInputError, match=r"refused the request \(HTTP 400\): answer 400") as info:
        _metrics().push(gateway.url, "nightly")
    assert isinstance(info.value.__cause__, requests.HTTPError)
    assert len(gateway.received) == 1, "a refusal is an answer: not retried"


def test_refused_credentials_are_an_authentication_error(gateway: Gateway) -> None:
    gateway.statuses = [401]
    with pytest.raises(AuthenticationError, match="HTTP 401"):
        _metrics().push(gateway.url, "nightly")


def test_a_server_failure_is_a_server_error_and_not_retried(gateway: Gateway) -> None:
    gateway.statuses = [500]
    with pytest.raises(ServerError, match="HTTP 500"):
        _metrics().push(gateway.url, "nightly")
    assert len(gateway.received) == 1


def test_a_gateway_briefly_unavailable_is_retried(gateway: Gateway) -> None:
    gateway.statuses = [503, 502, 200]
    _metrics().push(gateway.url, "nightly")
    assert [method for method, _, _ in gateway.received] == ["PUT", "PUT", "PUT"]


def test_a_gateway_that_stays_unavailable_is_unavailable(gateway: Gateway) -> None:
    gateway.statuses = [503]
    with (
        Pushgateway(gateway.url, timeout=5, retries=2) as client,
        pytest.raises(ServiceUnavailableError, match=r"pushgateway at .* unreachable after 5 s: HTTP 503"),
    ):
        client.push(_metrics().registry, "nightly")
    assert len(gateway.received) == 3, "the first try and two retries"


def test_nothing_listening_is_unavailable_with_the_cause() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"  # bound, never listening: connections refused
        with pytest.raises(
            ServiceUnavailableError, match=r"pushgateway at http://127\.0\.0\.1:\d+ unreachable"
        ) as info:
            _metrics().push(url, "nightly", timeout=2)
    assert isinstance(info.value.__cause__, requests.ConnectionError)


def test_a_url_without_a_host_is_bad_input() -> None:
    with Pushgateway("http://") as client, pytest.raises(InvalidInputError, match="not a valid http"):
        client.delete("nightly")
