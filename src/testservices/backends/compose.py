"""The `docker compose` side of the docker backend: projects, the labels every object carries, `up`.

Compose does what it is best at (creating a service's container, network and volumes from the shipped file,
and `up --wait` on its healthcheck). Every object it creates also carries the harness's labels, from an
override file written per start: the run, the instance, and the state dir whose registry knows it. With
those the reaper finds what a killed run left, with no Ryuk container (which cannot be pulled where no
registry is reachable).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from testservices.errors import BackendUnavailableError, HarnessError
from testservices.specs.base import ServiceSpec

LABEL = "io.vectorstack.testservices"
RUN_LABEL = f"{LABEL}.run"
INSTANCE_LABEL = f"{LABEL}.instance"
SERVICE_LABEL = f"{LABEL}.service"
HOME_LABEL = f"{LABEL}.home"
OWNER_LABEL = f"{LABEL}.owner"  # "<pid>:<start time>" of the process that started it
PROJECT_LABEL = "com.docker.compose.project"
COMPOSE_SERVICE_LABEL = "com.docker.compose.service"
_INTERPOLATION = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def project_labels(run_id: str, home: Path, owner: str) -> dict[str, str]:
    """Labels every object of a project carries: its run, the state dir holding its records, its starter."""
    return {RUN_LABEL: run_id, HOME_LABEL: str(home), OWNER_LABEL: owner}


def instance_labels(instance: str, service: str) -> dict[str, str]:
    """Labels of one instance's container besides its project's."""
    return {INSTANCE_LABEL: instance, SERVICE_LABEL: service}


def compose_command() -> list[str]:
    """`docker compose` (v2) by default; TESTSERVICES_COMPOSE_CMD may name another, e.g. `podman compose`."""
    return shlex.split(os.environ.get("TESTSERVICES_COMPOSE_CMD", "docker compose"))


def project_name(compose_file: str, run_id: str, instance: str, exclusive: bool) -> str:
    """One project per compose file and run (the monitoring stack's services share one); a private
    instance gets its own. Compose allows lower-case letters, digits, `-` and `_`."""
    run = re.sub(r"[^a-z0-9_-]+", "-", run_id.lower()).strip("-") or instance
    stem = Path(compose_file).stem
    return f"vectorstack-{stem}-{run}" + (f"-{instance}" if exclusive else "")


def host_port_variable(spec: ServiceSpec, role: str) -> str:
    """The compose variable of a role's host port: REDIS_HOST_PORT, MILVUS_HTTP_HOST_PORT, ..."""
    name = spec.name.upper()
    return f"{name}_HOST_PORT" if role == "main" else f"{name}_{role.upper()}_HOST_PORT"


def service_image(compose_file: Path, service: str, env: Mapping[str, str]) -> str:
    """A service's image in a compose file, with `${NAME:-default}` resolved as compose would."""
    document = yaml.safe_load(compose_file.read_text()) or {}
    image = str(document["services"][service]["image"])
    return _INTERPOLATION.sub(lambda m: env.get(m.group(1)) or m.group(2) or "", image)


@dataclass(frozen=True)
class Project:
    """One compose project of one file, with the override file that labels what it creates."""

    name: str
    file: Path
    labels_file: Path

    def argv(self, *args: str) -> list[str]:
        files = ["--file", str(self.file)]
        if self.labels_file.is_file():
            files += ["--file", str(self.labels_file)]
        return [*compose_command(), "--project-name", self.name, *files, *args]

    def write_labels(self, service: str, project_labels: Mapping[str, str], service_labels: Mapping[str, str]) -> None:
        """An override file that labels the service's container and every network and volume of the file.

        Networks and volumes get only the labels all services of the project share: compose refuses to
        reuse a network whose labels changed between two `up`s of the same project."""
        document = yaml.safe_load(self.file.read_text()) or {}
        override: dict[str, Any] = {"services": {service: {"labels": {**project_labels, **service_labels}}}}
        volumes = document.get("volumes") or {}
        if volumes:
            override["volumes"] = {name: {"labels": dict(project_labels)} for name in volumes}
        bridged = any("network_mode" not in (body or {}) for body in (document.get("services") or {}).values())
        if bridged:
            override["networks"] = {"default": {"labels": dict(project_labels)}}
        self.labels_file.parent.mkdir(parents=True, exist_ok=True)
        self.labels_file.write_text(json.dumps(override, indent=2))  # JSON is YAML


def run_compose(argv: Sequence[str], env: Mapping[str, str], timeout: float, what: str) -> str:
    """Run one compose command; its error output becomes the message of the HarnessError it raises."""
    try:
        done = subprocess.run(list(argv), env=dict(env), capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise BackendUnavailableError(
            f"{argv[0]} is not installed; install Docker with its compose plugin, or use TESTSERVICES_BACKEND=local"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"{what} took longer than {timeout:.0f} s: {shlex.join(argv)}") from exc
    if done.returncode != 0:
        output = (done.stderr.strip() or done.stdout.strip())[-3000:]
        raise HarnessError(f"{what} failed ({shlex.join(argv)}):\n{output}")
    return done.stdout
