"""Milvus: the real standalone server from the PyPI `milvus` wheel, or Milvus Lite behind a setting.

What the 2.3.5 wheel needs, found by running it here (see the project notes):
- its binaries come LZMA-compressed inside the wheel: unpacked once into a cache shared by all runs;
- it reads `configs/milvus.yaml` *and* `configs/glog.conf` from its working directory (without glog.conf
  it exits with code 1 and no message after ~0.7 s);
- its embedded etcd takes its ports only from the file ETCD_CONFIG_PATH names (else 2379/2380), so that
  file is written with free loopback ports; its gRPC ports listen on all interfaces (`ip` is only the
  address it advertises);
- every config key can be overridden by an environment variable, so the harness drops such variables;
- it writes /tmp/milvus/server_id_<pid> and /run/milvus/standalone-<alias>.pid whatever TMPDIR says:
  removed at stop;
- `PROXY_TIMETICKINTERVAL=20` makes Strong-consistency reads fast (~20 ms instead of ~200 ms).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from testservices.errors import BinaryNotFoundError
from testservices.ports import is_listening
from testservices.readiness import NotReady
from testservices.specs.base import (
    LaunchContext,
    LaunchPlan,
    ServiceSpec,
    http_get,
    not_ready_when,
    require_version,
    split_address,
)
from testservices.specs.milvus_config import COMPONENT_PORTS, MILVUS_WHEEL_VERSION, config_values, render_config

# Variables Milvus reads as config overrides (upper-cased keys, `.` -> `_`): a user's shell or CI must not
# silently change the server the harness configured, so they are dropped from its environment.
_CONFIG_ENV_PREFIXES = (
    "ETCD_",
    "PROXY_",
    "COMMON_",
    "MINIO_",
    "PULSAR_",
    "KAFKA_",
    "ROCKSMQ_",
    "MQ_",
    "LOCALSTORAGE_",
    "LOG_",
    "ROOTCOORD_",
    "QUERYCOORD_",
    "QUERYNODE_",
    "DATACOORD_",
    "DATANODE_",
    "INDEXCOORD_",
    "INDEXNODE_",
    "QUOTAANDLIMITS_",
    "GRPC_",
    "TLS_",
    "METASTORE_",
    "TIKV_",
)


def flavor() -> str:
    """`standalone` (the real server, default) or `lite` (Milvus Lite: fast to start, not the real thing)."""
    chosen = os.environ.get("TESTSERVICES_MILVUS", "standalone").strip().lower() or "standalone"
    if chosen not in ("standalone", "lite"):
        raise BinaryNotFoundError(f"TESTSERVICES_MILVUS={chosen!r}: choose `standalone` (real Milvus) or `lite`")
    return chosen


def _milvus_package() -> Path:
    """The installed wheel's folder, after checking it is the version the harness knows (see
    `unpack_binaries` and milvus_config for what depends on it)."""
    try:
        import milvus
    except ImportError as exc:
        raise BinaryNotFoundError(
            f"the real Milvus server is not installed: `pip install milvus=={MILVUS_WHEEL_VERSION}` (what "
            "`nox -s milvus` does), or set TESTSERVICES_MILVUS=lite to use Milvus Lite"
        ) from exc
    require_version(
        "milvus", MILVUS_WHEEL_VERSION, "its private _initialize_data_files and its config template's layout"
    )
    return Path(milvus.__file__).parent


def unpack_binaries(cache: Path) -> Path:
    """Unpack the wheel's binaries once (their checksums make a second call nearly free).

    The wheel has no public function that only unpacks them (`MilvusServer.start` also runs its own
    server, on ports of its choosing): its private `_initialize_data_files` is used, which is why
    `_milvus_package` accepts only the version it was checked against."""
    _milvus_package()
    import milvus

    cache.mkdir(parents=True, exist_ok=True)
    milvus._initialize_data_files(str(cache))
    binary = cache / "bin" / "milvus"
    if not binary.is_file():
        raise BinaryNotFoundError(f"unpacking the milvus wheel gave no {binary}")
    return cache / "bin"


class MilvusSpec(ServiceSpec):
    name = "milvus"
    description = "Milvus vector database (standalone 2.3.5 from PyPI; TESTSERVICES_MILVUS=lite for Milvus Lite)"
    port_roles = ("main", "http", "etcd_client", "etcd_peer", *COMPONENT_PORTS)
    compose_file = "milvus.yml"
    compose_service = "milvus"
    container_ports = {"main": 19530, "http": 9091}  # noqa: RUF012 - class-level constant
    exported = (
        "MILVUS_HEALTH_URL",
        "MILVUS_HOST",
        "MILVUS_PORT",
        "MILVUS_URI",
        "MILVUS_TOKEN",
        "MILVUS_DB_NAME",
        "MILVUS_TLS",
        "MILVUS_SERVER_PEM_PATH",
        "MILVUS_SERVER_NAME",
        "MILVUS_FLAVOR",
    )
    required_external = (("MILVUS_URI", "MILVUS_HOST"),)
    stop_grace = 20.0

    def local_plan(self, ctx: LaunchContext) -> LaunchPlan:
        if flavor() == "lite":
            return self._lite_plan(ctx)
        package = _milvus_package()
        bin_dir = unpack_binaries(ctx.settings.home / "cache" / f"milvus-{MILVUS_WHEEL_VERSION}")
        data = ctx.data_dir
        configs = data / "configs"
        configs.mkdir(parents=True, exist_ok=True)
        ports = {key: str(ctx.ports[key]) for key in COMPONENT_PORTS}
        ports.update(proxy_port=str(ctx.ports["main"]), etcd_port=str(ctx.ports["etcd_client"]))
        values = config_values(ports, str(data), etcd_log_path=str(data / "logs" / "etcd.log"))
        template = (package / "data" / "config.yaml.template").read_text()
        (configs / "milvus.yaml").write_text(render_config(template, values, MILVUS_WHEEL_VERSION))
        shutil.copy(package / "data" / "glog.conf", configs / "glog.conf")
        # The embedded etcd takes its listen addresses from this file only (etcd.endpoints is the client's
        # view): with it, etcd uses free loopback ports too, and several Milvus can run on one machine.
        client, peer = f"http://{ctx.host}:{ctx.ports['etcd_client']}", f"http://{ctx.host}:{ctx.ports['etcd_peer']}"
        etcd_config = configs / "embedEtcd.yaml"
        etcd_config.write_text(
            f"listen-client-urls: {client}\nadvertise-client-urls: {client}\nlisten-peer-urls: {peer}\n"
            f"initial-advertise-peer-urls: {peer}\ninitial-cluster: default={peer}\n"
        )
        (data / "logs").mkdir(exist_ok=True)
        library_path = os.pathsep.join(p for p in (str(bin_dir), os.environ.get("LD_LIBRARY_PATH", "")) if p)
        return LaunchPlan(
            # -alias names its pid file /run/milvus/standalone-<alias>.pid, one per instance.
            argv=[str(bin_dir / "milvus"), "run", "standalone", "-alias", instance_alias(data)],
            env={
                "DEPLOY_MODE": "STANDALONE",
                "METRICS_PORT": str(ctx.ports["http"]),
                "LD_LIBRARY_PATH": library_path,
                "PROXY_TIMETICKINTERVAL": "20",
                "ETCD_CONFIG_PATH": str(etcd_config),
            },
            unset_env=tuple(name for name in os.environ if name.startswith(_CONFIG_ENV_PREFIXES)),
        )

    def _lite_plan(self, ctx: LaunchContext) -> LaunchPlan:
        program = shutil.which("milvus-lite") or str(Path(sys.executable).parent / "milvus-lite")
        if not Path(program).exists():
            raise BinaryNotFoundError("TESTSERVICES_MILVUS=lite needs Milvus Lite: `pip install milvus-lite`")
        return LaunchPlan(
            argv=[
                program,
                "server",
                "--data-dir",
                str(ctx.data_dir),
                "--host",
                ctx.host,
                "--port",
                str(ctx.ports["main"]),
            ]
        )

    def exports(
        self, host: str, ports: Mapping[str, int], run_values: Mapping[str, str], backend: str = "local"
    ) -> dict[str, str]:
        port = ports["main"]
        # TESTSERVICES_MILVUS picks what the local backend runs; a container is always the real server.
        kind = flavor() if backend == "local" else "standalone"
        env = {
            "MILVUS_HOST": host,
            "MILVUS_PORT": str(port),
            "MILVUS_URI": f"http://{host}:{port}",
            "MILVUS_FLAVOR": kind,
        }
        if kind == "standalone":
            env["MILVUS_HEALTH_URL"] = f"http://{host}:{ports['http']}/healthz"
        return env

    def external_env(self, environ: Mapping[str, str]) -> dict[str, str]:
        env = super().external_env(environ)
        if "MILVUS_URI" not in env:
            env["MILVUS_URI"] = f"http://{env['MILVUS_HOST']}:{env.get('MILVUS_PORT', '19530')}"
        if "MILVUS_HOST" not in env:
            host, port = split_address(env["MILVUS_URI"], 19530)
            env["MILVUS_HOST"], env["MILVUS_PORT"] = host, str(port)
        env.setdefault("MILVUS_PORT", "19530")
        env.setdefault("MILVUS_FLAVOR", "external")
        return env

    def check_ready(self, env: Mapping[str, str]) -> None:
        health = env.get("MILVUS_HEALTH_URL")
        if health:
            # 200 when every component is healthy, 500 while one is still starting (see `http_get`).
            http_get(health)
        # healthz can say OK a moment before the proxy serves requests: ask it for real.
        _list_collections(env)

    def after_stop(self, pid: int | None, data_dir: Path) -> None:
        if pid is None:
            return
        server_id = Path(f"/tmp/milvus/server_id_{pid}")
        pid_file = Path(f"/run/milvus/standalone-{instance_alias(data_dir)}.pid")
        with contextlib.suppress(OSError):
            server_id.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            if pid_file.read_text().strip() == str(pid):
                pid_file.unlink()
        for folder in (server_id.parent, pid_file.parent):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty: another Milvus may still use it


def instance_alias(data_dir: Path) -> str:
    return "ts" + hashlib.sha1(str(data_dir).encode(), usedforsecurity=False).hexdigest()[:10]


# Milvus's ErrServiceUnavailable (the root reason, below its retriable flag bits), which is also pymilvus's
# own CONNECT_FAILED. Its ErrServiceNotReady (1) is not used: pymilvus gives code 1 to errors of its own
# as well, so that one is recognised by its compatible code, NotReadyServe.
_UNAVAILABLE = 2


def starting_error(exc: BaseException) -> bool:
    """Whether a pymilvus or gRPC error means "the server is not up yet", by its codes."""
    import grpc
    from pymilvus.exceptions import MilvusException
    from pymilvus.grpc_gen import common_pb2

    # gRPC statuses of a server that is not (yet) listening or answering.
    grpc_starting = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    if isinstance(exc, grpc.RpcError) and callable(getattr(exc, "code", None)):
        return exc.code() in grpc_starting
    if isinstance(exc, MilvusException):
        if isinstance(exc.__cause__, grpc.RpcError):
            return starting_error(exc.__cause__)
        if isinstance(exc.code, grpc.StatusCode):  # pymilvus ran out of retries of an RPC
            return exc.code in grpc_starting
        return (int(exc.code) & 0xFFFF) == _UNAVAILABLE or exc.compatible_code == common_pb2.NotReadyServe
    return False


def _list_collections(env: Mapping[str, str]) -> None:
    """A real request over gRPC when pymilvus is there; a TCP connect otherwise (the harness alone)."""
    try:
        from pymilvus import MilvusClient
    except ImportError:
        host, port = env["MILVUS_HOST"], int(env["MILVUS_PORT"])
        if not is_listening(host, port):
            raise NotReady(f"nothing listens on {host}:{port}") from None
        return
    with not_ready_when(starting_error, f"milvus at {env['MILVUS_URI']}"):
        client = MilvusClient(uri=env["MILVUS_URI"], token=env.get("MILVUS_TOKEN", ""), timeout=5)
        try:
            client.list_collections()
        finally:
            client.close()
