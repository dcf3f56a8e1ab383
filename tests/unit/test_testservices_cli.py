"""The command line, on the fake HTTP service: what a user types and reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from testservices.cli import main
from testservices.ports import is_listening

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
    monkeypatch.setenv("FAKEHTTP_HOST", "db.example.internal")
    monkeypatch.setenv("FAKEHTTP_PORT", "8443")
    assert main(["env", "fakehttp"]) == 0
    assert "export FAKEHTTP_HOST=db.example.internal" in capsys.readouterr().out
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
