"""Settings, ports, readiness polling, process groups and the spec registry."""

from __future__ import annotations

import itertools
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from testservices.errors import ConfigurationError, UnknownServiceError
from testservices.ports import free_ports, is_listening
from testservices.processes import ProcessId, spawn, stop_group, tail
from testservices.readiness import Backoff, NotReady, wait_until
from testservices.settings import Settings, SuiteKnobs
from testservices.specs import SPECS, resolve
from testservices.specs.redis import RedisSpec


def test_settings_defaults_and_validation(tmp_path: Path) -> None:
    s = Settings.from_env({"TESTSERVICES_HOME": str(tmp_path)})
    assert (s.backend, s.startup_timeout) == ("local", 120.0)
    knobs = SuiteKnobs.from_env({})
    assert (knobs.test_timeout, knobs.cleanup) == (60.0, True)
    assert SuiteKnobs.from_env({"INTEGRATION_TEST_CLEANUP": "false"}).cleanup is False
    with pytest.raises(ConfigurationError, match=r"TESTSERVICES_BACKEND='kubernetes'.*local, docker, external"):
        Settings.from_env({"TESTSERVICES_BACKEND": "kubernetes"})
    with pytest.raises(ConfigurationError, match=r"INTEGRATION_TEST_TIMEOUT"):
        SuiteKnobs.from_env({"INTEGRATION_TEST_TIMEOUT": "-1"})
    with pytest.raises(ConfigurationError, match=r"INTEGRATION_TEST_CLEANUP='maybe'"):
        SuiteKnobs.from_env({"INTEGRATION_TEST_CLEANUP": "maybe"})
    # The helper's own settings never read the test-only knobs (a bad one must not block `down`).
    assert Settings.from_env({"INTEGRATION_TEST_TIMEOUT": "soon", "INTEGRATION_TEST_CLEANUP": "maybe"})


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "0", "-5", "soon"])
@pytest.mark.parametrize("variable", ["TESTSERVICES_STARTUP_TIMEOUT", "INTEGRATION_TEST_TIMEOUT"])
def test_timeouts_must_be_finite_and_positive(variable: str, raw: str) -> None:
    """Issue 16: TESTSERVICES_STARTUP_TIMEOUT=nan was accepted (every `elapsed > nan` is false: no limit)."""
    read = Settings.from_env if variable.startswith("TESTSERVICES") else SuiteKnobs.from_env
    with pytest.raises(ConfigurationError, match=rf"^{variable}='{raw}' .*finite number.* > 0, e\.g\. 60$"):
        read({variable: raw})


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(5)
    assert len(set(ports)) == 5
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
        assert not is_listening("127.0.0.1", port)


def test_wait_until_backs_off_and_succeeds() -> None:
    calls: list[float] = []
    now = [0.0]

    def check() -> None:
        calls.append(now[0])
        if len(calls) < 5:
            raise ConnectionRefusedError("not yet")

    result = wait_until(check, 10, clock=lambda: now[0], sleep=lambda d: now.__setitem__(0, now[0] + d))
    assert result.ready
    assert result.attempts == 5
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert gaps == sorted(gaps), "delays grow"


def test_wait_until_gives_up_at_the_timeout_and_caps_delays() -> None:
    now = [0.0]
    delays: list[float] = []

    def sleep(d: float) -> None:
        delays.append(d)
        now[0] += d

    def never() -> None:
        raise TimeoutError("still starting")

    result = wait_until(never, 30, clock=lambda: now[0], sleep=sleep, backoff=Backoff(maximum=2.0))
    assert not result.ready
    assert result.seconds >= 30
    assert max(delays) <= 2.0
    assert "still starting" in result.last_error


def test_wait_until_stops_early_when_the_process_died() -> None:
    result = wait_until(lambda: (_ for _ in ()).throw(ConnectionRefusedError("refused")), 60, alive=lambda: False)
    assert result.died
    assert not result.ready
    assert result.seconds < 1


def test_wait_until_fails_at_once_on_an_error_waiting_cannot_fix() -> None:
    """A bug in a check (here a KeyError) is not "not ready yet": no retries, the error is the cause."""
    now = [0.0]
    calls = []

    def buggy() -> None:
        calls.append(now[0])
        raise KeyError("MILVUS_URI")

    result = wait_until(buggy, 120, clock=lambda: now[0], sleep=lambda d: now.__setitem__(0, now[0] + d))
    assert not result.ready
    assert len(calls) == 1
    assert result.seconds == 0
    assert isinstance(result.error, KeyError)
    assert "KeyError" in result.reason()
    assert "did not wait" in result.reason()


def test_wait_until_retries_what_means_not_up_yet() -> None:
    """Refused and reset connections, timeouts and the service's own NotReady are retried, and only those."""
    now = [0.0]
    errors: list[Exception] = [
        ConnectionRefusedError(111, "refused"),
        ConnectionResetError(104, "reset"),
        TimeoutError("timed out"),
        NotReady("loading"),
    ]

    def check() -> None:
        if errors:
            raise errors.pop(0)

    result = wait_until(check, 60, clock=lambda: now[0], sleep=lambda d: now.__setitem__(0, now[0] + d))
    assert result.ready
    assert result.attempts == 5


def test_stop_group_ends_the_leader_and_its_children(tmp_path: Path) -> None:
    code = (
        "import subprocess, sys, time; "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    )
    popen = spawn([sys.executable, "-c", code], log_path=tmp_path / "x.log", cwd=tmp_path)
    leader = ProcessId.of(popen.pid)
    deadline = time.monotonic() + 10
    while not psutil.Process(popen.pid).children() and time.monotonic() < deadline:
        time.sleep(0.05)
    [child] = psutil.Process(popen.pid).children()
    assert stop_group(leader, grace=5) is True
    assert not leader.alive()
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    assert stop_group(leader) is False, "stopping twice is harmless"


def test_process_identity_survives_pid_reuse() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        real = ProcessId.of(proc.pid)
        assert real.alive()
        assert not ProcessId(proc.pid, real.create_time - 100).alive(), "another program with our old pid"
    finally:
        proc.kill()
        proc.wait()


def test_tail_reads_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("".join(f"line {i}\n" for i in range(1000)))
    assert tail(log, lines=3).splitlines() == ["line 997", "line 998", "line 999"]
    assert tail(tmp_path / "missing.log") == ""


def test_resolve_orders_dependencies_and_rejects_unknown_names() -> None:
    assert [s.name for s in resolve(["redis", "redis"])] == ["redis"]
    with pytest.raises(UnknownServiceError, match=r"unknown service 'redsi'; known services: .*redis"):
        resolve(["redsi"])


def test_redis_exports_and_external_settings() -> None:
    spec = RedisSpec()
    env = spec.exports("127.0.0.1", {"main": 6390}, {"password": "p@ss/word"})
    assert env["REDIS_URL"] == "redis://:p%40ss%2Fword@127.0.0.1:6390/0"
    assert env["REDIS_PORT"] == "6390"
    assert env["REDIS_PASSWORD"] == "p@ss/word"
    external = spec.external_env({"REDIS_HOST": "10.0.0.5", "REDIS_PORT": "7000"})
    assert external["REDIS_URL"] == "redis://10.0.0.5:7000/0"
    with pytest.raises(ConfigurationError, match=r"needs REDIS_HOST or REDIS_URL"):
        spec.external_env({})
    from_url = spec.external_env({"REDIS_URL": "redis://:secret@10.0.0.6:7001/0", "REDIS_HOST": "ignored"})
    assert (from_url["REDIS_HOST"], from_url["REDIS_PORT"]) == ("10.0.0.6", "7001"), "the URL wins, as in RedisConfig"
    with pytest.raises(ConfigurationError, match=r"^REDIS_URL has a port that is not a whole number") as info:
        spec.external_env({"REDIS_URL": "redis://:secret@10.0.0.6:abc/0"})
    assert "secret" not in str(info.value)
    assert set(SPECS) >= {"redis"}


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1:9092", ("127.0.0.1", 9092)),
        ("http://127.0.0.1:19530", ("127.0.0.1", 19530)),
        ("https://s3.eu-west-1.amazonaws.com", ("s3.eu-west-1.amazonaws.com", 443)),
        ("http://[::1]:8333/bucket", ("::1", 8333)),
        ("broker.internal", ("broker.internal", 9092)),
    ],
)
def test_split_address(address: str, expected: tuple[str, int]) -> None:
    from testservices.specs.base import split_address

    assert split_address(address, 9092) == expected
