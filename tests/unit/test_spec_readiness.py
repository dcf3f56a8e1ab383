"""Readiness checks say "not up yet" (`NotReady`) only for what waiting can fix, by the drivers' own types
and codes, against real sockets on loopback: a closed port, a tiny HTTP server answering 503 or 404, a
tiny RESP server answering LOADING or WRONGPASS. Anything else must propagate and end the wait at once."""

from __future__ import annotations

import os
import socket
import socketserver
import stat
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from testservices.readiness import NotReady, wait_until
from testservices.settings import Settings
from testservices.specs import SPECS
from testservices.specs.base import LaunchContext, ReadinessCheckError, http_get
from testservices.specs.redis import RespError, resp_command

Serve = Callable[[int], str]


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (taken from the OS, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def http_server() -> Iterator[Serve]:
    """`serve(status)` starts a loopback HTTP server answering every GET with `status`; returns its URL."""
    servers: list[ThreadingHTTPServer] = []

    def serve(status: int) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = b"OK" if status < 300 else b"<Error><Code>Nope</Code></Error>"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def resp_server() -> Iterator[Callable[[bytes], int]]:
    """`serve(reply)` starts a loopback TCP server sending `reply` to every command it reads; its port."""
    servers: list[socketserver.ThreadingTCPServer] = []

    def serve(reply: bytes) -> int:
        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.recv(4096)
                self.request.sendall(reply)

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return int(server.server_address[1])

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def http_env(name: str, url: str) -> dict[str, str]:
    """The variables a spec's check reads, pointing at `url`."""
    return {
        "pushgateway": {"PUSHGATEWAY_URL": url},
        "alertmanager": {"ALERTMANAGER_URL": url},
        "prometheus": {"PROMETHEUS_URL": url},
        "smtp": {"MAIL_API_URL": f"{url}/api/email"},
        "milvus": {"MILVUS_HEALTH_URL": f"{url}/healthz", "MILVUS_URI": url},
    }[name]


def closed_env(name: str, port: int) -> dict[str, str]:
    address = f"127.0.0.1:{port}"
    return {
        "redis": {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(port)},
        "kafka": {"KAFKA_BOOTSTRAP_SERVERS": address, "KAFKA_HOST": "127.0.0.1", "KAFKA_PORT": str(port)},
        "s3": {
            "S3_ENDPOINT_URL": f"http://{address}",
            "S3_HOST": "127.0.0.1",
            "S3_PORT": str(port),
            "AWS_ACCESS_KEY_ID": "id",
            "AWS_SECRET_ACCESS_KEY": "secret",
        },
        "milvus": {"MILVUS_URI": f"http://{address}", "MILVUS_HOST": "127.0.0.1", "MILVUS_PORT": str(port)},
        **{name: http_env(name, f"http://{address}") for name in ("pushgateway", "alertmanager", "prometheus", "smtp")},
    }[name]


HTTP_SPECS = ("pushgateway", "alertmanager", "prometheus", "smtp", "milvus")


@pytest.mark.parametrize("name", sorted(SPECS))
def test_a_closed_port_is_not_ready(name: str, closed_port: int) -> None:
    with pytest.raises(NotReady):
        SPECS[name].check_ready(closed_env(name, closed_port))


@pytest.mark.parametrize("name", HTTP_SPECS)
def test_a_5xx_answer_is_not_ready(name: str, http_server: Serve) -> None:
    with pytest.raises(NotReady, match="503"):
        SPECS[name].check_ready(http_env(name, http_server(503)))


@pytest.mark.parametrize("name", HTTP_SPECS)
def test_a_4xx_answer_fails_at_once_with_a_clear_error(name: str, http_server: Serve) -> None:
    with pytest.raises(ReadinessCheckError, match=r"answered 404 .*refuses the readiness check") as info:
        SPECS[name].check_ready(http_env(name, http_server(404)))
    assert not isinstance(info.value, NotReady)


def test_a_loopback_check_ignores_the_proxy_of_the_environment(
    http_server: Serve, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = http_server(200)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{closed_port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert http_get(url + "/-/ready").text == "OK"


def test_s3_server_errors_wait_and_refusals_fail(http_server: Serve) -> None:
    spec = SPECS["s3"]
    env = closed_env("s3", 0)
    with pytest.raises(NotReady):
        spec.check_ready({**env, "S3_ENDPOINT_URL": http_server(503)})
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as info:
        spec.check_ready({**env, "S3_ENDPOINT_URL": http_server(403)})
    assert not isinstance(info.value, NotReady)


def test_redis_loading_is_not_ready(resp_server: Callable[[bytes], int]) -> None:
    port = resp_server(b"-LOADING Redis is loading the dataset in memory\r\n")
    with pytest.raises(NotReady, match="LOADING"):
        SPECS["redis"].check_ready({"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(port)})


def test_redis_refused_auth_fails_at_once(resp_server: Callable[[bytes], int]) -> None:
    port = resp_server(
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n-NOAUTH Authentication required.\r\n"
    )
    with pytest.raises(RespError) as info:
        resp_command("127.0.0.1", port, "PING", password="wrong")
    assert info.value.code == "WRONGPASS"
    assert not isinstance(info.value, NotReady)


def test_redis_closing_before_answering_is_not_ready(resp_server: Callable[[bytes], int]) -> None:
    with pytest.raises(NotReady, match="closed the connection"):
        resp_command("127.0.0.1", resp_server(b""), "PING")


def test_milvus_errors_are_classified_by_their_codes() -> None:
    from pymilvus.exceptions import MilvusException, ParamError
    from pymilvus.grpc_gen import common_pb2

    from testservices.specs.milvus import starting_error

    assert starting_error(MilvusException(code=2, message="Fail connecting to server"))
    assert starting_error(MilvusException(code=1, compatible_code=common_pb2.NotReadyServe))
    assert not starting_error(MilvusException(code=1, message="a client-side error"))
    assert not starting_error(ParamError(message="bad uri"))
    assert not starting_error(MilvusException(code=3, compatible_code=common_pb2.PermissionDenied))


def test_grpc_statuses_of_a_server_not_up_yet_are_not_ready() -> None:
    import grpc
    from pymilvus.exceptions import MilvusException

    from testservices.specs.milvus import starting_error

    def raw(code: grpc.StatusCode) -> grpc.RpcError:
        return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=code.name)

    assert starting_error(raw(grpc.StatusCode.UNAVAILABLE))
    assert starting_error(raw(grpc.StatusCode.DEADLINE_EXCEEDED))
    assert not starting_error(raw(grpc.StatusCode.UNAUTHENTICATED))
    assert starting_error(MilvusException(code=grpc.StatusCode.UNAVAILABLE, message="retries ran out"))
    assert not starting_error(MilvusException(code=grpc.StatusCode.PERMISSION_DENIED, message="no"))


@pytest.mark.parametrize(
    ("name", "env"),
    [
        ("kafka", {"KAFKA_HOST": "127.0.0.1"}),
        ("s3", {"S3_ENDPOINT_URL": "http://127.0.0.1:9"}),
        ("milvus", {"MILVUS_HOST": "127.0.0.1"}),
        ("prometheus", {}),
    ],
)
def test_a_bug_in_a_check_ends_the_wait_at_once(name: str, env: Mapping[str, str]) -> None:
    """A KeyError (here: a variable the check needs is missing) is not "not ready": no waiting."""
    started = time.monotonic()
    result = wait_until(lambda: SPECS[name].check_ready(env), timeout=3.0)
    assert not result.ready
    assert isinstance(result.error, KeyError), result.last_error
    assert result.attempts == 1
    assert time.monotonic() - started < 2.0


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Umask 0: a file created without an explicit mode would be world-readable (0666)."""
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.mark.usefixtures("open_umask")
def test_redis_config_with_the_password_is_never_readable_by_others(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Created private, not written and then chmod'ed: with chmod doing nothing it must still be 0600."""
    monkeypatch.setenv("TESTSERVICES_REDIS_SERVER", str(Path(os.__file__)))  # any existing file will do
    monkeypatch.setattr(Path, "chmod", lambda self, mode: None)
    data = tmp_path / "data"
    data.mkdir()
    spec = SPECS["redis"]
    ctx = LaunchContext(settings, data, tmp_path / "redis.log", {"main": 6379}, spec.choose_run_values())
    plan = spec.local_plan(ctx)
    config = Path(plan.argv[1])
    assert f"requirepass {ctx.run_values['password']}" in config.read_text()
    assert stat.S_IMODE(config.stat().st_mode) & 0o077 == 0
