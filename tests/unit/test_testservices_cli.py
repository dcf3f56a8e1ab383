"""The command line, on the fake HTTP service: what a user types and reads."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from testservices.cli import main
from testservices.ports import free_port, is_listening
from testservices.specs import SPECS

from .fake_service import HttpSpec


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_spec: HttpSpec) -> None:
    monkeypatch.setenv("TESTSERVICES_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TESTSERVICES_RUN_ID", raising=False)
    monkeypatch.delenv("TESTSERVICES_OWNER_PID", raising=False)


def test_up_env_status_logs_down(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["up", "fakehttp"]) == 0
    err = capsys.readouterr().err
    assert "fakehttp ready at 127.0.0.1:" in err
    assert "testservices down" in err
    assert main(["up", "fakehttp"]) == 0
    assert "reusing fakehttp" in capsys.readouterr().err

    assert main(["env", "fakehttp"]) == 0
    exports = dict(line.removeprefix("export ").split("=", 1) for line in capsys.readouterr().out.splitlines())
    port = int(exports["FAKEHTTP_PORT"])
    assert is_listening("127.0.0.1", port)

    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "fakehttp" in out
    assert "healthy" in out
    assert "persistent" in out
    assert exports["FAKEHTTP_TOKEN"] not in out, "status must not print credentials"

    assert main(["logs", "fakehttp", "-n", "5"]) == 0
    assert "fakehttp.log" in capsys.readouterr().out

    assert main(["down"]) == 0
    assert not is_listening("127.0.0.1", port)
    assert main(["status"]) == 0
    assert "no local services recorded" in capsys.readouterr().out


def test_errors_are_one_clear_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["up", "nosuch"]) == 2
    assert "unknown service 'nosuch'; known services:" in capsys.readouterr().err
    assert main(["env", "fakehttp"]) == 2
    assert "not running: fakehttp; start with `testservices up fakehttp`" in capsys.readouterr().err
    assert main(["logs", "fakehttp"]) == 2


def test_external_backend_env_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TESTSERVICES_BACKEND", "external")
    with socket.socket() as listener:  # something must answer there now (issue 16)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        monkeypatch.setenv("FAKEHTTP_HOST", "127.0.0.1")
        monkeypatch.setenv("FAKEHTTP_PORT", str(listener.getsockname()[1]))
        assert main(["env", "fakehttp"]) == 0
    assert "export FAKEHTTP_HOST=127.0.0.1" in capsys.readouterr().out
    monkeypatch.delenv("FAKEHTTP_HOST")
    assert main(["env", "fakehttp"]) == 2
    assert "TESTSERVICES_BACKEND=external needs FAKEHTTP_HOST" in capsys.readouterr().err


def test_help_lists_commands_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for word in ("up", "down", "status", "logs", "env", "TESTSERVICES_BACKEND"):
        assert word in out


def test_up_for_a_session_is_stopped_by_down_with_its_run_id(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What every nox session does: `up` owned by the session, then `down --run-id` ends exactly that."""
    import os

    monkeypatch.setenv("TESTSERVICES_OWNER_PID", str(os.getpid()))
    assert main(["up", "--run-id", "session-1", "fakehttp"]) == 0
    assert main(["env", "fakehttp"]) == 0
    port = int(
        next(
            v
            for k, v in (line.removeprefix("export ").split("=", 1) for line in capsys.readouterr().out.splitlines())
            if k == "FAKEHTTP_PORT"
        )
    )
    assert main(["status"]) == 0
    assert "persistent" not in capsys.readouterr().out, "a session's service is not the user's to keep"
    assert main(["down", "--run-id", "session-1"]) == 0
    assert "removing fakehttp" in capsys.readouterr().err
    assert not is_listening("127.0.0.1", port)


def test_a_failed_up_stops_what_it_started(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fake_spec: HttpSpec
) -> None:
    """`up a b` where b cannot start must not leave a running: half a stack is no use to anyone."""
    from testservices import specs

    broken = HttpSpec(fail=True)
    broken.name = "brokenhttp"
    monkeypatch.setitem(specs.SPECS, "brokenhttp", broken)
    assert main(["up", "fakehttp", "brokenhttp"]) == 2
    err = capsys.readouterr().err
    assert "fakehttp ready" in err
    assert "brokenhttp did not start" in err
    assert "removing fakehttp" in err
    assert main(["status"]) == 0
    assert "no local services recorded" in capsys.readouterr().out


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("testservices: error: "), err
    assert "\n" not in err, f"not one line: {err}"
    assert "Traceback" not in err
    return err


def test_a_bad_test_timeout_does_not_block_down_or_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 16: INTEGRATION_TEST_TIMEOUT is for test runs; `down` refused to run while it was bad."""
    assert main(["up", "fakehttp"]) == 0
    port = int(
        next(line for line in capsys.readouterr().err.splitlines() if "ready at" in line).split(":")[2].split()[0]
    )
    monkeypatch.setenv("INTEGRATION_TEST_TIMEOUT", "soon")
    monkeypatch.setenv("INTEGRATION_TEST_CLEANUP", "maybe")
    assert main(["status"]) == 0
    assert "fakehttp" in capsys.readouterr().out
    assert main(["down"]) == 0
    assert not is_listening("127.0.0.1", port)


@pytest.mark.parametrize("raw", ["nan", "inf", "0"])
def test_a_startup_timeout_that_is_not_finite_and_positive_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], raw: str
) -> None:
    monkeypatch.setenv("TESTSERVICES_STARTUP_TIMEOUT", raw)
    assert main(["up", "fakehttp"]) == 2
    assert f"TESTSERVICES_STARTUP_TIMEOUT='{raw}' must be a finite number of seconds > 0" in _one_line_error(capsys)


def _placeholder(name: str) -> str:
    if name.endswith("_SERVERS"):
        return "127.0.0.1:1"
    return "http://127.0.0.1:1" if name.endswith(("_URL", "_URI")) else "127.0.0.1"


PORT_VARIABLES = sorted(
    (spec.name, name) for spec in SPECS.values() for name in spec.exported if name.endswith("_PORT")
)


@pytest.mark.parametrize(("service", "variable"), PORT_VARIABLES, ids=[v for _, v in PORT_VARIABLES])
@pytest.mark.parametrize("raw", ["abc", "0", "70000", "-1"])
def test_an_external_port_that_is_not_a_port_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], service: str, variable: str, raw: str
) -> None:
    """Issue 16: REDIS_PORT=abc under the external backend gave a ValueError traceback."""
    monkeypatch.setenv("TESTSERVICES_BACKEND", "external")
    for alternatives in SPECS[service].required_external:
        monkeypatch.setenv(alternatives[0], _placeholder(alternatives[0]))
    monkeypatch.setenv(variable, raw)
    assert main(["env", service]) == 2
    assert f"{variable}='{raw}' is not a port: set it to a whole number from 1 to 65535" in _one_line_error(capsys)


def test_an_external_address_where_nothing_answers_is_refused_naming_the_variables(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 16: the external backend said "using redis at 127.0.0.1:1" without checking anything answers."""
    monkeypatch.setenv("TESTSERVICES_BACKEND", "external")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_HOST", "127.0.0.1")
    closed = free_port()
    monkeypatch.setenv("REDIS_PORT", str(closed))
    started = time.monotonic()
    assert main(["env", "redis"]) == 2
    assert time.monotonic() - started < 5, "the reachability check is bounded (about 3 s)"
    err = _one_line_error(capsys)
    assert f"nothing answers at 127.0.0.1:{closed} for redis" in err
    assert "Check REDIS_HOST, REDIS_PORT, REDIS_URL" in err
    assert "using redis" not in err
