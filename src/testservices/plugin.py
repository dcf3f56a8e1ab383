"""pytest plugin: service fixtures, unique names, cleanup, and service logs on failing tests.

Under xdist the controller picks one run id and owner before the workers start; each worker asks the
manager for the services its tests use, and the registry lock makes the first one start a service that
the others then reuse. The controller stops what the run started when pytest ends.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

from testservices.control import ServiceControl
from testservices.manager import ServiceManager, new_run_id
from testservices.processes import tail
from testservices.settings import Settings
from testservices.specs import SPECS
from testservices.state import Endpoint

_OWNS_RUN = pytest.StashKey[bool]()
_FAILED = pytest.StashKey[bool]()
_ENDPOINTS = pytest.StashKey[dict[str, Endpoint]]()
_name_counter = itertools.count()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("testservices", "real services for integration tests")
    group.addoption(
        "--service-log-lines",
        type=int,
        default=40,
        help="lines of each service log to attach to a failing test's report (default 40; 0 = none)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_ENDPOINTS] = {}
    config.stash[_FAILED] = False
    if _is_worker(config):
        return  # the controller already chose the run id and owner; workers inherit them
    # Pin the state dir for workers and nested runs, whatever their working directory.
    os.environ.setdefault("TESTSERVICES_HOME", str(Settings.from_env().home))
    owns = "TESTSERVICES_RUN_ID" not in os.environ
    if owns:
        os.environ["TESTSERVICES_RUN_ID"] = new_run_id()
        os.environ["TESTSERVICES_OWNER_PID"] = str(os.getpid())
    config.stash[_OWNS_RUN] = owns


def pytest_report_header(config: pytest.Config) -> str:
    settings = Settings.from_env()
    return f"testservices: backend={settings.backend} run={os.environ.get('TESTSERVICES_RUN_ID')} home={settings.home}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by the services they use, and bound each integration test by INTEGRATION_TEST_TIMEOUT."""
    timeout = Settings.from_env().test_timeout
    has_timeout_plugin = config.pluginmanager.hasplugin("timeout")
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        for name in SPECS:
            if f"{name}_service" in fixtures:
                item.add_marker(name)
                item.add_marker("integration")
        if has_timeout_plugin and item.get_closest_marker("integration") and not item.get_closest_marker("timeout"):
            # Tests marked slow move a lot of data (100,000 vectors, 120 MB objects): give them 5x the limit.
            factor = 5 if item.get_closest_marker("slow") else 1
            item.add_marker(pytest.mark.timeout(timeout * factor))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_FAILED] = exitstatus not in (0, 5)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _is_worker(config) or not config.stash.get(_OWNS_RUN, False):
        return
    manager = ServiceManager(say=lambda m: print(f"\ntestservices: {m}"))
    settings = manager.settings
    if settings.cleanup or not config.stash.get(_FAILED, False):
        manager.stop_run()
    else:
        for record in manager.keep_for_debugging():
            print(
                f"\ntestservices: kept {record.name} at {record.host}:{record.port} for debugging "
                f"(INTEGRATION_TEST_CLEANUP=false); log {record.log_path}; stop with `testservices down`"
            )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    lines = item.config.getoption("service_log_lines")
    if report.failed and report.when in ("setup", "call") and lines > 0:
        used = set(getattr(item, "fixturenames", ())) | {m.name for m in item.iter_markers()}
        for name, endpoint in item.config.stash[_ENDPOINTS].items():
            if (name in used or f"{name}_service" in used) and endpoint.log_path:
                text = tail(endpoint.log_path, lines=lines)
                report.sections.append((f"{name} log (last {lines} lines of {endpoint.log_path})", text))
    return report


@pytest.fixture(scope="session")
def testservices_manager() -> ServiceManager:
    """One manager per process (per xdist worker); all of them share the registry."""
    return ServiceManager()


def acquire(config: pytest.Config, manager: ServiceManager, name: str) -> Endpoint:
    """Start or reuse one service for this run and remember it for failure reports."""
    endpoint = manager.ensure([name])[name]
    config.stash[_ENDPOINTS][name] = endpoint
    return endpoint


def _service_fixture(name: str) -> Callable[..., Endpoint]:
    def fixture(request: pytest.FixtureRequest, testservices_manager: ServiceManager) -> Endpoint:
        return acquire(request.config, testservices_manager, name)

    fixture.__doc__ = f"The running {name} service for this run: `.env` holds its connection variables."
    return pytest.fixture(scope="session", name=f"{name}_service")(fixture)


for _name in SPECS:
    globals()[f"{_name}_service"] = _service_fixture(_name)


@pytest.fixture
def private_service(
    request: pytest.FixtureRequest, testservices_manager: ServiceManager
) -> Iterator[Callable[[str], ServiceControl]]:
    """Start a service instance of this test's own, to stop, kill and restart (see testservices.control);
    its log joins the failure report, and it is removed with its data at teardown."""
    started: list[ServiceControl] = []

    def start(name: str) -> ServiceControl:
        control = ServiceControl(testservices_manager, testservices_manager.start_private(name))
        started.append(control)
        request.config.stash[_ENDPOINTS][name] = control.endpoint
        return control

    yield start
    for control in reversed(started):
        control.remove()


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """Names unique per run, xdist worker and call: safe for resources on servers shared by workers."""
    run = os.environ.get("TESTSERVICES_RUN_ID", "local")[-6:]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")

    def make(prefix: str = "t") -> str:
        clean = re.sub(r"[^a-z0-9]+", "_", prefix.lower()).strip("_")[:16] or "t"
        if not clean[0].isalpha():
            clean = f"t{clean}"[:16]
        return f"{clean}_{run}_{worker}_{next(_name_counter)}"[:48]

    return make


@pytest.fixture
def cleanup() -> Iterator[Callable[..., None]]:
    """Register undo actions; all run at teardown (last first) even if one fails, and failures are reported."""
    actions: list[tuple[Callable[..., object], tuple[object, ...], dict[str, object]]] = []

    def register(action: Callable[..., object], *args: object, **kwargs: object) -> None:
        actions.append((action, args, kwargs))

    yield register
    errors = []
    for action, args, kwargs in reversed(actions):
        try:
            action(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - run every action, report all failures together
            errors.append(f"{getattr(action, '__qualname__', action)}: {type(exc).__name__}: {exc}")
    if errors:
        pytest.fail("cleanup failed:\n" + "\n".join(errors), pytrace=False)
