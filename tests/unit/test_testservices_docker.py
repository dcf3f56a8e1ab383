"""The docker backend's pieces that need no engine: compose files, labels, names, images, log parsing.
(The backend itself is proven on a real engine: every suite runs under TESTSERVICES_BACKEND=docker.)"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from testservices import images
from testservices.backends.compose import Project, host_port_variable, project_name, service_image
from testservices.backends.container_logs import lines, parse_timestamp
from testservices.errors import ConfigurationError
from testservices.settings import Settings
from testservices.specs import SPECS, get_spec

COMPOSE_DIR = Settings.from_env({}).compose_dir


def test_compose_files_ship_inside_the_package() -> None:
    assert Path(images.__file__).parents[1] / "compose" == COMPOSE_DIR
    assert {spec.compose_file for spec in SPECS.values()} <= {p.name for p in COMPOSE_DIR.glob("*.yml")}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_compose_file_is_complete(name: str) -> None:
    spec = SPECS[name]
    service = yaml.safe_load((COMPOSE_DIR / spec.compose_file).read_text())["services"][spec.compose_service]
    image = service["image"]
    assert image.startswith(f"${{{images.image_variable(name)}:-"), "each image can be replaced by a variable"
    official = image.split(":-", 1)[1].rstrip("}")
    assert ":" in official, "pin the official image"
    assert not official.endswith(":latest"), "pin the official image"
    assert "healthcheck" in service, "`up --wait` needs a healthcheck"
    ports = [str(p) for p in service.get("ports", [])]
    if service.get("network_mode") == "host":
        assert not ports
        for role in spec.container_ports:
            variable = host_port_variable(spec, role)
            assert variable in json.dumps(service), f"{variable} must set where it listens on 127.0.0.1"
        return
    for role, container_port in spec.container_ports.items():
        expected = f"127.0.0.1:${{{host_port_variable(spec, role)}:-"
        assert any(p.startswith(expected) and p.endswith(f":{container_port}") for p in ports), (
            f"publish container port {container_port} on the harness's {host_port_variable(spec, role)}"
        )


def test_every_service_that_stores_data_keeps_it_on_a_volume() -> None:
    for name in ("redis", "kafka", "milvus", "s3", "prometheus"):
        spec = get_spec(name)
        document = yaml.safe_load((COMPOSE_DIR / spec.compose_file).read_text())
        mounts = document["services"][spec.compose_service].get("volumes", [])
        named = [m.split(":")[0] for m in mounts if not m.startswith(("./", "$"))]
        assert named, f"{name} must keep its data on a named volume, so a killed container comes back with it"
        assert set(named) <= set(document.get("volumes") or {}), f"{name}: declare its volumes"
        assert "tmpfs" not in document["services"][spec.compose_service]


def test_labels_override_marks_the_container_and_every_network_and_volume(tmp_path: Path) -> None:
    project = Project("vectorstack-redis-run", COMPOSE_DIR / "redis.yml", tmp_path / "labels.json")
    project.write_labels("redis", {"io.x.run": "run-1"}, {"io.x.instance": "abc"})
    override = yaml.safe_load(project.labels_file.read_text())
    assert override["services"]["redis"]["labels"] == {"io.x.run": "run-1", "io.x.instance": "abc"}
    assert override["volumes"] == {"redis-data": {"labels": {"io.x.run": "run-1"}}}
    assert override["networks"] == {"default": {"labels": {"io.x.run": "run-1"}}}
    assert project.argv("up")[-3:] == ["--file", str(project.labels_file), "up"]


def test_host_network_projects_get_no_network_of_their_own(tmp_path: Path) -> None:
    project = Project("vectorstack-monitoring-run", COMPOSE_DIR / "monitoring.yml", tmp_path / "labels.json")
    project.write_labels("prometheus", {"io.x.run": "run-1"}, {})
    assert "networks" not in yaml.safe_load(project.labels_file.read_text())


def test_image_interpolation_follows_compose() -> None:
    assert service_image(COMPOSE_DIR / "redis.yml", "redis", {}).startswith("redis:")
    mirror = {"TESTSERVICES_REDIS_IMAGE": "mirror.example/redis:8"}
    assert service_image(COMPOSE_DIR / "redis.yml", "redis", mirror) == "mirror.example/redis:8"


@pytest.mark.parametrize(
    ("run", "exclusive", "expected"),
    [
        ("redis-3f2a9c", False, "vectorstack-redis-redis-3f2a9c"),
        ("20261201-101010-ab12cd", True, "vectorstack-redis-20261201-101010-ab12cd-inst1"),
        ("Odd Run!", False, "vectorstack-redis-odd-run"),
    ],
)
def test_project_names_are_valid_and_unique_per_run(run: str, exclusive: bool, expected: str) -> None:
    assert project_name("redis.yml", run, "inst1", exclusive) == expected


def test_host_port_variables() -> None:
    assert host_port_variable(get_spec("redis"), "main") == "REDIS_HOST_PORT"
    assert host_port_variable(get_spec("milvus"), "http") == "MILVUS_HTTP_HOST_PORT"


def test_local_image_tags_follow_the_recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tag = images.recipe("redis").tag({})
    assert tag.startswith("vectorstack-local/redis:")
    assert (
        images.recipe("redis")
        .tag({"TESTSERVICES_IMAGE_PREFIX": "registry.corp/ts/"})
        .startswith("registry.corp/ts/redis:")
    )
    assert images.recipe("milvus").digest() != images.recipe("kafka").digest()
    # A changed recipe file gives a new tag: a stale image is never run.
    copied = tmp_path / "recipes"
    import shutil

    shutil.copytree(images.RECIPES, copied)
    monkeypatch.setattr(images, "RECIPES", copied)
    before = images.recipe("redis").digest()
    (copied / "redis" / "Dockerfile").write_text((copied / "redis" / "Dockerfile").read_text() + "\n# changed\n")
    assert images.recipe("redis").digest() != before


def test_local_images_are_chosen_only_when_asked_and_never_over_an_explicit_one() -> None:
    assert images.compose_images(["redis"], {}) == {}
    chosen = images.compose_images(["redis", "kafka"], {"TESTSERVICES_IMAGES": "local"})
    assert chosen == {
        "TESTSERVICES_REDIS_IMAGE": images.recipe("redis").tag({}),
        "TESTSERVICES_KAFKA_IMAGE": images.recipe("kafka").tag({}),
    }
    mine = {"TESTSERVICES_IMAGES": "local", "TESTSERVICES_REDIS_IMAGE": "my/redis:1"}
    assert "TESTSERVICES_REDIS_IMAGE" not in images.compose_images(["redis"], mine)
    with pytest.raises(ConfigurationError, match="TESTSERVICES_IMAGES='both'"):
        images.compose_images(["redis"], {"TESTSERVICES_IMAGES": "both"})


def test_servers_from_one_debian_package_share_a_recipe_but_not_a_tag() -> None:
    prometheus, pushgateway = images.recipe("prometheus"), images.recipe("pushgateway")
    assert prometheus.folder == pushgateway.folder
    assert prometheus.build_args["PACKAGE"] == "prometheus"
    assert pushgateway.build_args["PACKAGE"] == "prometheus-pushgateway"
    assert prometheus.tag({}) != pushgateway.tag({})


def test_every_compose_service_has_a_local_recipe() -> None:
    assert {spec.name for spec in SPECS.values()} == set(images.recipe_names())


def test_container_log_timestamps_order_with_trimmed_nanoseconds() -> None:
    early, late = parse_timestamp("2026-12-01T21:11:03.81712Z"), parse_timestamp("2026-12-01T21:11:03.8171205Z")
    assert early < late
    assert parse_timestamp("2026-12-01T21:11:04Z") > late


def test_container_log_lines_are_rebuilt_from_any_chunking() -> None:
    chunks = [b"2026-12-01T21:11:03Z one\n2026-12-", b"01T21:11:04Z two\n", b"2026-12-01T21:11:05Z three"]
    assert list(lines(iter(chunks))) == [
        "2026-12-01T21:11:03Z one",
        "2026-12-01T21:11:04Z two",
        "2026-12-01T21:11:05Z three",
    ]


def _kafka_entrypoint() -> ModuleType:
    path = images.RECIPES / "kafka" / "entrypoint.py"
    spec = importlib.util.spec_from_file_location("kafka_entrypoint", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_local_kafka_image_reads_the_official_listener_variables() -> None:
    listeners = _kafka_entrypoint().listeners
    assert listeners("INTERNAL://:9092,CONTROLLER://:9093,EXTERNAL://:9094") == {
        "INTERNAL": ("", 9092),
        "CONTROLLER": ("", 9093),
        "EXTERNAL": ("", 9094),
    }
    assert listeners("INTERNAL://kafka:9092,EXTERNAL://127.0.0.1:49321")["EXTERNAL"] == ("127.0.0.1", 49321)


def test_a_container_is_an_orphan_once_its_record_is_gone_or_its_owner_ended(tmp_path: Path) -> None:
    import os

    from testservices.backends.compose import HOME_LABEL, INSTANCE_LABEL, SERVICE_LABEL
    from testservices.backends.orphans import claimed, owner_alive
    from testservices.processes import ProcessId
    from testservices.state import Registry, ServiceRecord

    registry = Registry(tmp_path / "home")
    labels = {HOME_LABEL: str(registry.home), SERVICE_LABEL: "redis", INSTANCE_LABEL: "abc"}
    assert not claimed(labels), "no record: nobody owns it"
    me = ProcessId.of(os.getpid())
    record = ServiceRecord("redis", "abc", "docker", {}, "127.0.0.1", 1, owner_pid=me.pid, owner_created=me.create_time)
    registry.save(record)
    assert claimed(labels), "its owner (this process) runs"
    record.owner_created = me.create_time - 100  # the same pid, another process: a reused pid
    registry.save(record)
    assert not claimed(labels)
    record.persistent = True  # handed to the user by `testservices up`
    registry.save(record)
    assert claimed(labels)
    assert not claimed({SERVICE_LABEL: "redis"}), "not labelled by us: not ours to keep"
    assert owner_alive(f"{me.pid}:{me.create_time}")
    assert not owner_alive("")
    assert not owner_alive(f"{me.pid}:{me.create_time - 100}")
