"""The harness as a user drives it: `testservices` commands in a process of their own, on a state dir of
the test's own, against the backend the session runs (TESTSERVICES_BACKEND)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from testservices.settings import Settings

Cli = Callable[..., subprocess.CompletedProcess[str]]
# Variables that would tie a command to this pytest run (its owner, its run id) or to its services.
_RUN_VARIABLES = ("TESTSERVICES_RUN_ID", "TESTSERVICES_OWNER_PID", "TESTSERVICES_HOME", "PYTEST_XDIST_WORKER")


def backend() -> str:
    return Settings.from_env().backend


def user_env(home: Path, **overrides: str) -> dict[str, str]:
    """The environment of a user's shell: none of this run's harness variables, the test's own state dir."""
    env = {k: v for k, v in os.environ.items() if k not in _RUN_VARIABLES and not k.startswith("COV_CORE")}
    env.update(TESTSERVICES_HOME=str(home), **overrides)
    return env


def parse_exports(text: str) -> dict[str, str]:
    """`export NAME=value` lines (shell-quoted) as a dict, as `eval "$(testservices env)"` would set them."""
    import shlex

    found = {}
    for line in text.splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            found[name] = shlex.split(value)[0] if value else ""
    return found


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def cli(home: Path) -> Iterator[Cli]:
    """Run `testservices ARGS` as a user would; whatever the test leaves running is brought down after it."""

    def run(*args: str, check: bool = True, env: Mapping[str, str] | None = None, timeout: float = 600) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "testservices", *args],
            env=dict(env) if env is not None else user_env(home),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            pytest.fail(f"testservices {' '.join(args)} exited {done.returncode}:\n{done.stderr}", pytrace=False)
        return done

    yield run
    for name in ("local", "docker"):
        run("down", check=False, env=user_env(home, TESTSERVICES_BACKEND=name))
