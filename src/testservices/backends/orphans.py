"""What a dead run left on the Docker engine, found by label alone and removed (no Ryuk container).

Every container, network and volume the docker backend creates carries labels: the run, the instance,
the state dir (`home`) whose registry holds its record, and the process that started it (`owner`). A
container is still owned while that registry holds its record and the record's owner runs (or the service
was handed to the user with `testservices up`); anything else is an orphan, whichever state dir or
machine user started it. The owner's pid is checked with its start time, so a reused pid never keeps an
orphan alive.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from testservices.backends.compose import (
    HOME_LABEL,
    INSTANCE_LABEL,
    OWNER_LABEL,
    PROJECT_LABEL,
    RUN_LABEL,
    SERVICE_LABEL,
)
from testservices.processes import ProcessId
from testservices.state import Registry


def owner_alive(label: str) -> bool:
    """`<pid>:<start time>` names a process that still runs."""
    pid, _, created = label.partition(":")
    try:
        return ProcessId(int(pid), float(created)).alive()
    except ValueError:
        return False


def claimed(labels: Mapping[str, str]) -> bool:
    """A live run still owns the container these labels describe, or we cannot tell (a state dir we may
    not read, as another user's on a shared engine): only what is known to be dead is reaped."""
    home, name, instance = labels.get(HOME_LABEL), labels.get(SERVICE_LABEL), labels.get(INSTANCE_LABEL)
    if not (home and name and instance):
        return False
    try:
        record = Registry(Path(home)).find(name, instance)
    except OSError:
        return True
    return record is not None and record.owner_alive()


def reap_by_label(client: Any) -> list[str]:
    """Remove orphaned containers, then the networks and volumes of projects left without containers
    whose owner has ended (or whose containers were just reaped). Returns what was removed."""
    import docker.errors

    removed: list[str] = []
    projects: set[str] = set()
    for container in client.containers.list(all=True, filters={"label": [INSTANCE_LABEL]}):
        labels = container.labels
        if claimed(labels):
            continue
        projects.add(labels.get(PROJECT_LABEL, ""))
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True, v=True)
        removed.append(f"container {container.name} (run {labels.get(RUN_LABEL)})")
    for kind in (client.networks, client.volumes):
        for item in kind.list(filters={"label": [RUN_LABEL]}):
            labels = item.attrs.get("Labels") or {}
            project = labels.get(PROJECT_LABEL, "")
            if project not in projects and owner_alive(labels.get(OWNER_LABEL, "")):
                continue  # a live run is creating it, or still uses it
            if client.containers.list(all=True, filters={"label": [f"{PROJECT_LABEL}={project}"]}):
                continue
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                item.remove()
                removed.append(f"{type(item).__name__.lower()} {item.name} (run {labels.get(RUN_LABEL)})")
    return removed
