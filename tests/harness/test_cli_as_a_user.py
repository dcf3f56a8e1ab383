"""`testservices up`, `env`, `reap` and `down` run as a user runs them, on real servers, under the session's
backend: plain drivers work with the printed variables alone, a killed `up` leaves nothing the reaper
misses, and one backend's `down` never touches the other's services."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil
import pytest

from testservices.processes import ProcessId
from testservices.state import Registry

from ..waiting import eventually
from .conftest import Cli, backend, parse_exports, user_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PLAIN_CLIENTS = textwrap.dedent(
    """
    import os, uuid
    import boto3, redis
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    from pymilvus import MilvusClient

    name = "plain" + uuid.uuid4().hex[:8]
    r = redis.Redis.from_url(os.environ["REDIS_URL"])
    r.set(name, b"value")
    assert r.get(name) == b"value"

    servers = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    admin = AdminClient({"bootstrap.servers": servers})
    admin.create_topics([NewTopic(name, 1, 1)])[name].result(30)
    producer = Producer({"bootstrap.servers": servers})
    producer.produce(name, b"hello")
    assert producer.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": servers, "group.id": name, "auto.offset.reset": "earliest"})
    consumer.subscribe([name])
    message = None
    for _ in range(60):
        message = consumer.poll(1)
        if message is not None and message.error() is None:
            break
    assert message is not None and message.value() == b"hello", message
    consumer.close()

    milvus = MilvusClient(uri=os.environ["MILVUS_URI"])
    milvus.create_collection(name, dimension=4, consistency_level="Strong")
    milvus.insert(name, [{"id": 1, "vector": [0.1, 0.2, 0.3, 0.4]}])
    hits = milvus.search(name, [[0.1, 0.2, 0.3, 0.4]], limit=1)
    assert hits[0][0]["id"] == 1, hits

    s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT_URL"])
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"object")
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"object"
    print("plain clients ok")
    """
)


def test_plain_drivers_work_with_nothing_but_the_printed_variables(cli: Cli, tmp_path: Path) -> None:
    cli("up", "redis", "kafka", "milvus", "s3")
    exported = parse_exports(cli("env").stdout)
    assert {"REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS", "MILVUS_URI", "S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID"} <= set(
        exported
    )
    script = tmp_path / "plain_clients.py"
    script.write_text(PLAIN_CLIENTS)
    # Only what `testservices env` printed, and what any shell has: nothing of the harness or this run.
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **exported}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "plain clients ok" in done.stdout


def _docker() -> Any:
    import docker

    return docker.from_env()


def _nothing(found: Sequence[str]) -> bool:
    return not found


def _leftovers(run: str, processes: Sequence[ProcessId] = ()) -> list[str]:
    """Every container, network and volume of `run`, and every process started for it, still there: the
    recorded ones (`processes`; a server may rename itself, as redis-server does) and any whose command
    line names the run (the docker backend's log followers, servers given a path in the run's folder)."""
    found = [f"process {p.pid} (recorded)" for p in processes if p.alive()]
    if backend() == "docker":
        client = _docker()
        label = {"label": [f"io.vectorstack.testservices.run={run}"]}
        found += [f"container {c.name}" for c in client.containers.list(all=True, filters=label)]
        found += [f"network {n.name}" for n in client.networks.list(filters=label)]
        found += [f"volume {v.name}" for v in client.volumes.list(filters=label)]
    for process in psutil.process_iter(["cmdline", "pid"]):
        with_run = [part for part in process.info["cmdline"] or () if run in part]
        if with_run:
            found.append(f"process {process.info['pid']} ({' '.join(process.info['cmdline'][:3])})")
    return found


def test_up_killed_while_it_waits_for_health_is_reaped_completely(cli: Cli, home: Path, tmp_path: Path) -> None:
    # The second service must still be starting when `up` is killed. Under docker kafka waits for its
    # healthcheck (at least a second); a local noida broker is ready in milliseconds, so `up` could finish
    # and hand both over to the user first: locally the slow one is Milvus (seconds).
    slow = "kafka" if backend() == "docker" else "milvus"
    up = subprocess.Popen(
        [sys.executable, "-m", "testservices", "up", "redis", slow],
        env=user_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    registry = Registry(home)
    starting = eventually(lambda: registry.records(slow), f"a record of {slow}, written before it is up", timeout=120)[
        0
    ]
    if backend() == "docker":
        # The record is on file before `up`; wait for the container's first healthcheck to be pending.
        def health_pending() -> bool:
            project = {"label": [f"com.docker.compose.project={starting.compose_project}"]}
            return any(
                (c.attrs["State"].get("Health") or {}).get("Status") == "starting"
                for c in _docker().containers.list(filters=project)
            )

        eventually(health_pending, f"the {slow} container waiting for its healthcheck", timeout=120)
    up.send_signal(signal.SIGKILL)
    up.wait(timeout=30)
    run = starting.started_by
    records = registry.records()
    assert records, "the killed `up` left no record"
    assert not any(r.persistent for r in records), "`up` finished and handed over before the kill: not mid-start"
    processes = [r.process for r in records if r.process is not None]
    assert _leftovers(run, processes), "the killed `up` left nothing to reap: the test did not catch it mid-start"
    if backend() == "docker":
        # Found by label alone: from a state dir that has no record of the dead run.
        reaped = cli("reap", env=user_env(tmp_path / "other-home")).stderr
        assert "reaped container" in reaped, reaped
    else:
        reaped = cli("reap").stderr
        assert "the run that owned it" in reaped, reaped
    eventually(
        lambda: _leftovers(run, processes), f"nothing left of run {run}", timeout=30, until=lambda left: not left
    )


@pytest.mark.docker
def test_down_under_one_backend_never_touches_the_other(cli: Cli, home: Path) -> None:
    if backend() != "docker":
        pytest.skip("needs a Docker engine: runs in the docker sessions (TESTSERVICES_BACKEND=docker)")
    local, docker = user_env(home, TESTSERVICES_BACKEND="local"), user_env(home, TESTSERVICES_BACKEND="docker")
    cli("up", "redis", env=local)
    cli("up", "redis", env=docker)
    status = json.loads(cli("status", "--json", env=docker).stdout)
    assert [(row["service"], row["backend"], row["state"]) for row in status] == [("redis", "docker", "healthy")]

    cli("down", env=local)
    assert "no local services recorded" in cli("status", env=local).stdout
    still = json.loads(cli("status", "--json", env=docker).stdout)
    assert [row["state"] for row in still] == ["healthy"], "`down` under local stopped the docker backend's redis"

    cli("up", "redis", env=local)
    cli("down", env=docker)
    assert "no docker services recorded" in cli("status", env=docker).stdout
    again = json.loads(cli("status", "--json", env=local).stdout)
    assert [row["state"] for row in again] == ["healthy"], "`down` under docker stopped the local backend's redis"


@pytest.mark.docker
def test_an_image_that_cannot_be_had_fails_at_once_saying_what_to_do(cli: Cli, home: Path) -> None:
    if backend() != "docker":
        pytest.skip("needs a Docker engine: runs in the docker sessions (TESTSERVICES_BACKEND=docker)")
    # A local image nobody built: refused before compose runs, with the command that builds it.
    unbuilt = cli(
        "up",
        "redis",
        check=False,
        env=user_env(home, TESTSERVICES_IMAGES="local", TESTSERVICES_IMAGE_PREFIX="never-built"),
    )
    assert unbuilt.returncode == 2
    assert "never-built/redis:" in unbuilt.stderr
    assert "testservices images build redis" in unbuilt.stderr
    # An official image that cannot be pulled (no registry answers): compose's error, and the way out.
    unpullable = cli(
        "up",
        "redis",
        check=False,
        env=user_env(home, TESTSERVICES_IMAGES="official", TESTSERVICES_REDIS_IMAGE="registry.invalid/redis:8"),
    )
    assert unpullable.returncode == 2
    assert "registry.invalid" in unpullable.stderr, "compose's own error is shown"
    assert "TESTSERVICES_IMAGES=local" in unpullable.stderr
    # Neither left a record, a container, a network or a volume.
    assert not Registry(home).records()
    client = _docker()
    label = {"label": [f"io.vectorstack.testservices.home={home}"]}
    assert not client.containers.list(all=True, filters=label)
    assert not client.networks.list(filters=label)
    assert not client.volumes.list(filters=label)
