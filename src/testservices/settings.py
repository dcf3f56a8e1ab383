"""Knobs read from the environment, in one place so the CLI, the plugin and the noxfile agree."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from testservices.errors import ConfigurationError
from vectorstack.flags import FlagError, parse_flag

BACKENDS = ("local", "docker", "external")


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    try:
        return parse_flag(env, name, default)
    except FlagError as exc:
        raise ConfigurationError(str(exc)) from exc


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigurationError(
            f"{name}={raw!r} is not a number of seconds; set a finite number > 0, e.g. 60"
        ) from exc
    if not 0 < value < math.inf:  # NaN fails this too: every comparison with NaN is false
        raise ConfigurationError(f"{name}={raw!r} must be a finite number of seconds > 0, e.g. 60")
    return value


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder holding pyproject.toml or .git, so that nox, pytest and the CLI share one state dir."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").exists() or (folder / ".git").exists():
            return folder
    return here


@dataclass(frozen=True)
class Settings:
    """What the helper itself needs (the CLI, the backends): never the test-only knobs (see SuiteKnobs),
    so a bad INTEGRATION_TEST_TIMEOUT cannot stop `testservices down` or `status` from working."""

    backend: str
    home: Path
    startup_timeout: float

    @property
    def compose_dir(self) -> Path:
        """The compose files, shipped inside the package: the docker backend works from an installed wheel
        as from a checkout. TESTSERVICES_COMPOSE_DIR points at your own copies instead."""
        override = os.environ.get("TESTSERVICES_COMPOSE_DIR")
        return Path(override) if override else Path(__file__).parent / "compose"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        backend = env.get("TESTSERVICES_BACKEND", "local").strip().lower() or "local"
        if backend not in BACKENDS:
            raise ConfigurationError(
                f"TESTSERVICES_BACKEND={backend!r} is not a backend; choose one of {', '.join(BACKENDS)}"
            )
        home_raw = env.get("TESTSERVICES_HOME")
        home = Path(home_raw).expanduser() if home_raw else find_project_root() / ".testservices"
        return cls(
            backend=backend,
            home=home.resolve(),
            startup_timeout=_positive_float(env, "TESTSERVICES_STARTUP_TIMEOUT", 120.0),
        )


@dataclass(frozen=True)
class SuiteKnobs:
    """The knobs only a test run reads (the pytest plugin): per-test timeout and cleanup after a failure."""

    test_timeout: float
    cleanup: bool

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SuiteKnobs:
        env = os.environ if env is None else env
        return cls(
            test_timeout=_positive_float(env, "INTEGRATION_TEST_TIMEOUT", 60.0),
            cleanup=_flag(env, "INTEGRATION_TEST_CLEANUP", True),
        )
