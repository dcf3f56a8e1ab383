"""The docker backend's commands, checked without an engine, and the compose files, checked by a parser."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
import yaml

from testservices.backends.base import StartRequest
from testservices.backends.docker import DockerBackend, parse_port
from testservices.errors import BackendUnavailableError, ServiceStartError
from testservices.settings import Settings
from testservices.specs import SPECS

from .fake_service import HttpSpec

COMPOSE_DIR = Path(__file__).resolve().parents[2] / "compose"


class FakeDocker:
    """Answers like the docker CLI would; records every command."""

    def __init__(self, port_output: str = "127.0.0.1:49153\n", fail_on: str = "") -> None:
        self.calls: list[list[str]] = []
        self.envs: list[Mapping[str, str]] = []
        self.port_output = port_output
        self.fail_on = fail_on
        self.ps_output = "ok\n"

    def __call__(self, argv: Sequence[str], env: Mapping[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(argv))
        self.envs.append(env)
        if self.fail_on and self.fail_on in argv:
            return subprocess.CompletedProcess(argv, 1, "", f"{self.fail_on} went wrong")
        out = self.port_output if "port" in argv else self.ps_output if "ps" in argv else "ok\n"
        return subprocess.CompletedProcess(argv, 0, out, "")


def _request(tmp_path: Path) -> StartRequest:
    return StartRequest("abc123", tmp_path / "run", 1, 1.0, False, "run-1")


def _ready_spec(port_seen: list[int]) -> HttpSpec:
    spec = HttpSpec()
    spec.check_ready = lambda env: port_seen.append(int(env["FAKEHTTP_PORT"]))  # type: ignore[method-assign]
    return spec


def test_start_brings_up_only_the_asked_service_and_reads_its_port(settings: Settings, tmp_path: Path) -> None:
    fake = FakeDocker()
    seen: list[int] = []
    backend = DockerBackend(settings, runner=fake)
    record = backend.start(_ready_spec(seen), _request(tmp_path))
    info, up, port = fake.calls
    assert info[:2] == ["docker", "info"]
    base = [
        "docker",
        "compose",
        "--project-name",
        "vectorstack-fakehttp-run-1",
        "--file",
        str(settings.compose_dir / "fakehttp.yml"),
    ]
    assert up == [*base, "up", "--detach", "--wait", "--wait-timeout", "20", "web"]
    assert port == [*base, "port", "web", "8000"]
    assert (record.host, record.port, record.compose_project) == (
        "127.0.0.1",
        49153,
        "vectorstack-fakehttp-run-1",
    )
    assert seen == [49153], "readiness is checked on the published port"
    assert fake.envs[1]["PATH"], "compose runs with the user's environment"


def test_stop_saves_logs_then_removes_its_container_and_the_empty_project(
    settings: Settings, tmp_path: Path, fake_spec: HttpSpec
) -> None:
    fake = FakeDocker()
    backend = DockerBackend(settings, runner=fake)
    record = backend.start(_ready_spec([]), _request(tmp_path))
    fake.calls.clear()
    fake.ps_output = ""  # nothing else runs in the project
    backend.stop(fake_spec, record)
    logs, remove, ps, down = fake.calls
    assert logs[-4:] == ["logs", "--no-color", "--timestamps", "web"]
    assert remove[-5:] == ["rm", "--stop", "--force", "--volumes", "web"]
    assert ps[-2:] == ["ps", "--quiet"]
    assert down[-3:] == ["down", "--volumes", "--remove-orphans"]
    assert Path(record.log_path).read_text() == "ok\n"


def test_stop_keeps_a_project_others_still_run_in(settings: Settings, tmp_path: Path, fake_spec: HttpSpec) -> None:
    fake = FakeDocker()
    backend = DockerBackend(settings, runner=fake)
    record = backend.start(_ready_spec([]), _request(tmp_path))
    fake.calls.clear()
    fake.ps_output = "3f2a9c\n"  # the Pushgateway of the same run, say
    backend.stop(fake_spec, record)
    assert not [c for c in fake.calls if "down" in c]
    assert backend.is_running(record)


def test_failed_up_keeps_the_logs_and_cleans_up(settings: Settings, tmp_path: Path) -> None:
    fake = FakeDocker(fail_on="up")
    backend = DockerBackend(settings, runner=fake)
    with pytest.raises(ServiceStartError, match=r"(?s)fakehttp did not start.*up went wrong"):
        backend.start(_ready_spec([]), _request(tmp_path))
    assert [c for c in fake.calls if "rm" in c and "web" in c], "a failed start must not leave its container"


def test_no_engine_gives_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    backend = DockerBackend(settings, runner=FakeDocker(fail_on="info"))
    with pytest.raises(BackendUnavailableError, match=r"needs a running Docker engine.*TESTSERVICES_BACKEND=local"):
        backend.start(_ready_spec([]), _request(tmp_path))


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("127.0.0.1:49153\n", ("127.0.0.1", 49153)),
        ("0.0.0.0:5000", ("127.0.0.1", 5000)),
        ("[::1]:6000\n", ("::1", 6000)),
    ],
)
def test_parse_port(output: str, expected: tuple[str, int]) -> None:
    assert parse_port(output) == expected


@pytest.mark.parametrize("name", sorted(SPECS))
def test_compose_file_is_complete(name: str) -> None:
    spec = SPECS[name]
    document = yaml.safe_load((COMPOSE_DIR / spec.compose_file).read_text())
    service = document["services"][spec.compose_service]
    assert ":" in service["image"], "pin the image"
    assert not service["image"].endswith(":latest"), "pin the image"
    assert "healthcheck" in service, "`up --wait` needs a healthcheck"
    published = [str(p) for p in service.get("ports", [])]
    for container_port in spec.container_ports.values():
        matching = [p for p in published if p.endswith(f":{container_port}")]
        assert matching, f"container port {container_port} is not published"
        assert all(p.startswith("127.0.0.1:") for p in matching), "publish on loopback only"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose (Debian package) not installed")
@pytest.mark.parametrize("path", sorted(COMPOSE_DIR.glob("*.yml")), ids=lambda p: p.name)
def test_compose_file_parses_with_docker_compose(path: Path) -> None:
    done = subprocess.run(
        ["docker-compose", "--file", str(path), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("kill", "verb"), [(True, ["kill", "--signal", "SIGKILL"]), (False, ["stop", "--timeout"])])
def test_halt_and_resume_keep_the_container(settings: Settings, tmp_path: Path, kill: bool, verb: list[str]) -> None:
    fake = FakeDocker()
    seen: list[int] = []
    spec = _ready_spec(seen)
    backend = DockerBackend(settings, runner=fake)
    record = backend.start(spec, _request(tmp_path))
    fake.calls.clear()
    backend.halt(spec, record, kill=kill)
    [halt] = fake.calls
    assert " ".join(verb) in " ".join(halt)
    assert halt[-1] == "web"
    assert not {"rm", "down"} & set(halt), "a halted container keeps its data"
    fake.port_output = "127.0.0.1:49999\n"
    resumed = backend.resume(spec, record)
    start, port = fake.calls[1:]
    assert start[-2:] == ["start", "web"]
    assert port[-3:] == ["port", "web", "8000"]
    assert resumed.port == 49999, "a published port may change on restart: the record follows it"
    assert resumed.env["FAKEHTTP_TOKEN"] == record.launch["creds"]["token"]
