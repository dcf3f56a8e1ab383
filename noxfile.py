"""Nox sessions for vectorstack: one per service suite, plus unit, coverage, lint and a service driver.

Every service session is the same three steps (install its extra, bring up its services through
`testservices`, run its test folder under xdist); `run_suite` does them, the sessions only name the suite.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import nox


def _load_flags() -> Callable[[Mapping[str, str], str, bool], bool]:
    """The one reading of on/off variables, shared with the harness and the library: loaded from its file,
    not its package, since nox runs before anything (vectorstack's dependencies) is installed."""
    path = Path(__file__).parent / "src" / "vectorstack" / "flags.py"
    spec = importlib.util.spec_from_file_location("vectorstack_flags", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and friends look their module up here
    spec.loader.exec_module(module)
    parse: Callable[[Mapping[str, str], str, bool], bool] = module.parse_flag
    return parse


parse_flag = _load_flags()

nox.needs_version = ">=2024.10.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
# uv checks TLS against its own bundled roots, pip against the system's store: behind a proxy that
# re-signs HTTPS (company networks, this project's CI machines) only the system store knows the signer,
# and every install fails with "invalid peer certificate". The system store is what pip trusts anyway.
os.environ.setdefault("UV_NATIVE_TLS", "1")

ROOT = Path(__file__).parent
REPORTS = ROOT / "reports"
BACKEND = os.environ.get("TESTSERVICES_BACKEND", "local")
# Integration tests wait on servers more than on the CPU: run at least two workers even on one core.
WORKERS = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS", str(max(2, os.cpu_count() or 1)))


@dataclass(frozen=True)
class Suite:
    """A test folder, the library extra it imports, the services nox brings up for it, and those its tests
    start themselves (through the `testservices` command, as a user would)."""

    extras: tuple[str, ...]
    services: tuple[str, ...]
    starts: tuple[str, ...] = ()
    # Server wheels installed whatever the backend (a test that compares the two backends needs both).
    local_servers: tuple[str, ...] = ()


SUITES = {
    "kafka": Suite(extras=("kafka", "monitoring"), services=("kafka",)),
    "storage": Suite(extras=("storage", "milvus", "monitoring"), services=("s3", "milvus")),
    "monitoring": Suite(extras=("monitoring", "redis", "milvus"), services=("prometheus", "redis", "milvus")),
    "milvus": Suite(extras=("milvus",), services=("milvus",)),
    "redis": Suite(extras=("redis",), services=("redis",)),
    "e2e": Suite(extras=("pipeline",), services=("kafka", "milvus", "redis", "s3", "prometheus")),
    "harness": Suite(
        extras=("pipeline",), services=(), starts=("redis", "kafka", "milvus", "s3"), local_servers=("redis",)
    ),
}
# Programs the local backend takes from Debian, by service (no wheel ships them).
DEBIAN_PACKAGES = {
    "prometheus": ("prometheus", "prometheus-pushgateway", "prometheus-alertmanager"),
}
# The library extra that talks to each service (the harness's readiness checks use it too).
CLIENT_EXTRAS = {"redis": "redis", "milvus": "milvus", "kafka": "kafka", "s3": "storage", "prometheus": "monitoring"}
# Wheels that ship the server programs the `local` backend runs (see pyproject's *-server extras).
SERVER_EXTRAS = {
    "redis": "redis-server",
    "kafka": "kafka-server",
    "s3": "s3-server",
    "milvus": "milvus-lite" if os.environ.get("TESTSERVICES_MILVUS") == "lite" else "milvus-server",
}


def install(session: nox.Session, *extras: str) -> None:
    """Editable install, so coverage maps to src/ and a change needs no reinstall."""
    session.install("-e", f".[{','.join(extras)}]" if extras else ".")


def server_extras(services: tuple[str, ...]) -> list[str]:
    """What runs the services: server wheels for the local backend, the docker SDK for the docker one."""
    if BACKEND == "docker":
        return ["docker"]
    return [SERVER_EXTRAS[name] for name in services if BACKEND == "local" and name in SERVER_EXTRAS]


def report_name(session: nox.Session) -> str:
    """One JUnit report and coverage file per session and backend: `redis` (local), `redis-docker`
    (official images), `redis-docker-local` (images built here), `redis-external`."""
    if BACKEND == "local":
        return session.name
    local_images = BACKEND == "docker" and os.environ.get("TESTSERVICES_IMAGES", "").strip().lower() == "local"
    return f"{session.name}-{BACKEND}" + ("-local" if local_images else "")


def pytest_args(session: nox.Session, folder: str) -> list[str]:
    args = [
        "pytest",
        folder,
        "--numprocesses=auto",
        "--durations=10",
        f"--junitxml={REPORTS / f'junit-{report_name(session)}.xml'}",
        "--cov",
        "--cov-report=",
    ]
    if BACKEND != "external":
        # pytest-socket: a test can reach nothing but loopback (what the local and docker backends serve) and
        # unix sockets (the Docker engine's, which the docker backend and its tests talk to).
        args += ["--allow-hosts=127.0.0.1,localhost,::1", "--allow-unix-socket"]
    return [*args, *session.posargs]


def test_env(session: nox.Session) -> dict[str, str]:
    return {
        "COVERAGE_FILE": str(ROOT / f".coverage.{report_name(session)}"),
        "TESTSERVICES_HOME": os.environ.get("TESTSERVICES_HOME", str(ROOT / ".testservices")),
        "PYTEST_XDIST_AUTO_NUM_WORKERS": WORKERS,
        # The services this session starts live as long as this nox process, and no longer: if nox is
        # killed, the next run's reaper ends them.
        "TESTSERVICES_OWNER_PID": str(os.getpid()),
        "TESTSERVICES_RUN_ID": f"{session.name}-{uuid.uuid4().hex[:6]}",
    }


@contextlib.contextmanager
def services_up(session: nox.Session, services: tuple[str, ...], env: dict[str, str]) -> Iterator[None]:
    """Start (or reuse) the services, and stop what was started whatever happens to the tests."""
    if not services:
        yield  # the suite's tests start what they need themselves
        return
    failed = True
    try:
        # Inside the try: if one service fails to start, the ones started before it are stopped too.
        session.run(
            "python", "-m", "testservices", "up", "--owner-pid", env["TESTSERVICES_OWNER_PID"], *services, env=env
        )
        yield
        failed = False
    finally:
        if failed and not parse_flag(os.environ, "INTEGRATION_TEST_CLEANUP", True):
            session.run("python", "-m", "testservices", "keep", "--run-id", env["TESTSERVICES_RUN_ID"], env=env)
        else:
            session.run("python", "-m", "testservices", "down", "--run-id", env["TESTSERVICES_RUN_ID"], env=env)


def install_debian_packages(session: nox.Session, services: tuple[str, ...]) -> None:
    """Install the Debian programs the local backend needs, when missing; say how when we cannot."""
    wanted = [pkg for name in services if BACKEND == "local" for pkg in DEBIAN_PACKAGES.get(name, ())]
    missing = [pkg for pkg in wanted if not shutil.which(pkg)]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        session.error(
            f"missing programs: {' '.join(missing)}; install them with `sudo apt-get install {' '.join(missing)}`"
        )
    # .ci/apt-install keeps the packages from starting system-wide daemons (the harness runs its own) and
    # removes its policy-rc.d afterwards, or every later install on this machine would start nothing.
    session.run(str(ROOT / ".ci" / "apt-install"), *missing, external=True)


def run_suite(session: nox.Session, name: str) -> None:
    suite = SUITES[name]
    install_debian_packages(session, suite.services)
    servers = [*server_extras(suite.services + suite.starts), *(SERVER_EXTRAS[n] for n in suite.local_servers)]
    install(session, *suite.extras, "test", *dict.fromkeys(servers))
    REPORTS.mkdir(exist_ok=True)
    env = test_env(session)
    with services_up(session, suite.services, env):
        session.run(*pytest_args(session, f"tests/{name}"), env=env)


@nox.session(tags=["tests"])
def unit(session: nox.Session) -> None:
    """Fast tests that need no service."""
    install(session, *CLIENT_EXTRAS.values(), "test", "bench")  # bench: the report's plots are tested too
    REPORTS.mkdir(exist_ok=True)
    session.run(*pytest_args(session, "tests/unit"), env=test_env(session))


@nox.session(tags=["tests"])
def kafka(session: nox.Session) -> None:
    """Kafka suite: vector record streaming, consumer groups, dead letters, lag (TESTSERVICES_KAFKA=noida|tansu)."""
    run_suite(session, "kafka")


@nox.session(tags=["tests"])
def milvus(session: nox.Session) -> None:
    """Milvus suite on a real embedded Milvus (TESTSERVICES_MILVUS=lite: Milvus Lite): the main job."""
    run_suite(session, "milvus")


@nox.session(tags=["tests"])
def storage(session: nox.Session) -> None:
    """Storage suite on a real S3 server (SeaweedFS), with Milvus for the backup/restore tests."""
    run_suite(session, "storage")


@nox.session(tags=["tests"])
def monitoring(session: nox.Session) -> None:
    """Monitoring suite: metrics scraped and pushed, alerts mailed, dashboard (Prometheus stack, MailDev)."""
    run_suite(session, "monitoring")


@nox.session(tags=["tests"])
def redis(session: nox.Session) -> None:
    """Redis suite: vector cache, pub/sub, streams, sessions, rate limiter, lock, metrics."""
    run_suite(session, "redis")


@nox.session(tags=["tests"])
def e2e(session: nox.Session) -> None:
    """The whole stack as one: the Kafka -> Milvus pipeline, kills and restarts, load, disaster recovery."""
    run_suite(session, "e2e")


@nox.session(tags=["tests"])
def harness(session: nox.Session) -> None:
    """The harness as a user runs it: `testservices up/env/reap/down`, a killed `up`, one backend beside another."""
    run_suite(session, "harness")


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks (not a test): library vs raw drivers, services, harness -> bench-results/ (`-- --check`)."""
    services = ("kafka", "milvus", "redis", "s3", "prometheus")
    install_debian_packages(session, services)
    install(session, "pipeline", "test", "bench", *server_extras(services))
    env = {**test_env(session), "COVERAGE_FILE": os.devnull}
    with services_up(session, services, env):
        session.run("python", "-m", "benchmarks", *session.posargs, env=env)


@nox.session(default=False)
def stability(session: nox.Session) -> None:
    """Run test sessions N times, optionally under CPU load: `nox -s stability -- [SESSIONS] [--runs N] [--load]`."""
    session.install("-e", ".", "nox>=2024.10.9")
    session.run("python", "-m", "benchmarks.stability", *session.posargs)


@nox.session
def coverage(session: nox.Session) -> None:
    """Combine the test sessions' coverage data: terminal report, HTML (htmlcov/) and XML (coverage.xml)."""
    # `-- --append` adds to an earlier combination (CI: the docker sessions' data to the local ones').
    combine = [arg for arg in session.posargs if arg != "--append" or (ROOT / ".coverage").exists()]
    session.install("coverage[toml]>=7.4")
    if not list(ROOT.glob(".coverage.*")):
        session.error("no coverage data found: run test sessions first, e.g. `nox -s unit redis coverage`")
    session.run("coverage", "combine", *combine)
    session.run("coverage", "report")
    session.run("coverage", "html")
    session.run("coverage", "xml")
    if reports := sorted(str(path) for path in REPORTS.glob("junit-*.xml")):
        # The generated bad-input suites record how many invalid inputs they checked; the total is tracked.
        session.run("python", "tests/count_bad_inputs.py", *reports)


@nox.session(default=False)
def lint(session: nox.Session) -> None:
    """ruff (lint + format check) and mypy --strict over the packages, tests and this noxfile."""
    install(session, "lint", "test", *CLIENT_EXTRAS.values())
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session(default=False)
def services(session: nox.Session) -> None:
    """Drive the helper by hand: `nox -s services -- up|down|status|logs|env|images build [SERVICE...]`."""
    if not session.posargs:
        session.error("say what to do, e.g. `nox -s services -- up redis` (try `nox -s services -- --help`)")
    named = tuple(arg for arg in session.posargs[1:] if not arg.startswith("-"))
    wanted = named if session.posargs[0] == "up" else ()
    install_debian_packages(session, wanted)
    extras = [CLIENT_EXTRAS[n] for n in wanted if n in CLIENT_EXTRAS] + server_extras(wanted)
    if BACKEND == "docker" or session.posargs[0] in ("images", "reap"):
        extras.append("docker")  # the docker SDK: image builds, labels, logs
    install(session, *dict.fromkeys(extras))
    session.run("python", "-m", "testservices", *session.posargs)
