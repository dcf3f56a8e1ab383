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
from testservices.settings import Settings, SuiteKnobs
from testservices.specs import SPECS
from testservices.state import Endpoint

_OWNS_RUN = pytest.StashKey[bool]()
_FAILED = pytest.StashKey[bool]()
# The run's shared services this process has handed to tests (by service name), for failure reports.
_SHARED = pytest.StashKey[dict[str, Endpoint]]()
# A test's own instances (from private_service), on the test item.
_PRIVATE = pytest.StashKey[list[tuple[str, Endpoint]]]()
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
    config.stash[_SHARED] = {}
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
    timeout = SuiteKnobs.from_env().test_timeout
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
    if SuiteKnobs.from_env().cleanup or not config.stash.get(_FAILED, False):
        manager.remove_run()
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
        shown = [
            (name, endpoint)
            for name, endpoint in item.config.stash[_SHARED].items()
            if name in used or f"{name}_service" in used
        ]
        # A test's own instances (private_service) belong to its report only, never to a later test's.
        private: list[tuple[str, Endpoint]] = item.stash.get(_PRIVATE, [])
        shown += private
        for name, endpoint in shown:
            if endpoint.log_path:
                text = tail(endpoint.log_path, lines=lines)
                report.sections.append((f"{name} log (last {lines} lines of {endpoint.log_path})", text))
    return report


@pytest.fixture(scope="session")
def testservices_manager() -> ServiceManager:
    """One manager per process (per xdist worker); all of them share the registry."""
    return ServiceManager()


def acquire(config: pytest.Config, manager: ServiceManager, name: str) -> Endpoint:
    """Start or reuse one shared service for this run and remember it for failure reports."""
    endpoint = manager.ensure([name])[name]
    config.stash[_SHARED][name] = endpoint
    return endpoint


# The shared service of this run, one fixture each. Declared one by one (not made in a loop) so that
# `pytest --fixtures` and grep find them, and a conftest can override any of them by name (for example
# to point `redis_service` at a server of your own). `.env` holds the variables a client needs.


@pytest.fixture(scope="session")
def redis_service(request: pytest.FixtureRequest, testservices_manager: ServiceManager) -> Endpoint:
    """Redis (Valkey or Debian's redis-server) with a per-run password: REDIS_HOST, REDIS_PORT,
    REDIS_PASSWORD, REDIS_URL."""
    return acquire(request.config, testservices_manager, "redis")


@pytest.fixture(scope="session")
def milvus_service(request: pytest.FixtureRequest, testservices_manager: ServiceManager) -> Endpoint:
    """Milvus (standalone 2.3.5, or Milvus Lite with TESTSERVICES_MILVUS=lite): MILVUS_URI, MILVUS_HOST,
    MILVUS_PORT, MILVUS_FLAVOR."""
    return acquire(request.config, testservices_manager, "milvus")


@pytest.fixture(scope="session")
def kafka_service(request: pytest.FixtureRequest, testservices_manager: ServiceManager) -> Endpoint:
    """A Kafka-compatible broker: KAFKA_BOOTSTRAP_SERVERS."""
    return acquire(request.config, testservices_manager, "kafka")


@pytest.fixture(scope="session")
def s3_service(request: pytest.FixtureRequest, testservices_manager: ServiceManager) -> Endpoint:
    """S3-compatible storage with per-run keys: S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY."""
    return acquire(request.config, testservices_manager, "s3")


@pytest.fixture(scope="session")
def prometheus_service(request: pytest.FixtureRequest, testservices_manager: ServiceManager) -> Endpoint:
    """Prometheus (with the Pushgateway, Alertmanager and SMTP capture it is wired to): PROMETHEUS_URL."""
    return acquire(request.config, testservices_manager, "prometheus")


@pytest.fixture(scope="session")
def pushgateway_service(request: pytest.FixtureRequest, testservices_manager: ServiceManager) -> Endpoint:
    """The Prometheus Pushgateway: PUSHGATEWAY_URL."""
    return acquire(request.config, testservices_manager, "pushgateway")


@pytest.fixture(scope="session")
def alertmanager_service(request: pytest.FixtureRequest, testservices_manager: ServiceManager) -> Endpoint:
    """Alertmanager, sending its mail to the SMTP capture: ALERTMANAGER_URL."""
    return acquire(request.config, testservices_manager, "alertmanager")


@pytest.fixture(scope="session")
def smtp_service(request: pytest.FixtureRequest, testservices_manager: ServiceManager) -> Endpoint:
    """An SMTP server that keeps every mail (MailDev) and shows it over HTTP: SMTP_HOST, SMTP_PORT,
    MAIL_API_URL."""
    return acquire(request.config, testservices_manager, "smtp")


@pytest.fixture
def private_service(
    request: pytest.FixtureRequest, testservices_manager: ServiceManager
) -> Iterator[Callable[[str], ServiceControl]]:
    """Start a service instance of this test's own, to stop, kill and restart (see testservices.control);
    its log joins this test's failure report, and it is removed with its data at teardown."""
    started: list[ServiceControl] = []
    shown = request.node.stash.setdefault(_PRIVATE, [])

    def start(name: str) -> ServiceControl:
        control = ServiceControl(testservices_manager, testservices_manager.start_private(name))
        started.append(control)
        shown.append((f"{name} (this test's own)", control.endpoint))
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
