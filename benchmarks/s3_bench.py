"""S3: a 120 MB object up and down, and many small objects, library against boto3."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path

import boto3
from botocore.config import Config

from benchmarks.core import Bench
from vectorstack.config import S3Config
from vectorstack.storage import ObjectStore

GROUP = "s3"
MB = 1024 * 1024


def run(bench: Bench, env: Mapping[str, str]) -> None:
    config = S3Config.from_env(env)
    objects = ObjectStore(config)
    raw = boto3.client(
        "s3",
        endpoint_url=config.endpoint_url,
        aws_access_key_id=config.access_key,
        aws_secret_access_key=config.secret_key,
        region_name=config.region,
        config=Config(signature_version="s3v4"),
    )
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    objects.create_bucket(bucket)
    with tempfile.TemporaryDirectory(prefix="vectorstack-bench-") as tmp:
        try:
            _big(bench, objects, raw, bucket, Path(tmp))
            _small(bench, objects, raw, bucket)
        finally:
            objects.delete_bucket(bucket, force=True, missing_ok=True)


def _big(bench: Bench, objects: ObjectStore, raw: object, bucket: str, tmp: Path) -> None:
    size = bench.size(120, 32) * MB
    source = tmp / "big.bin"
    with source.open("wb") as handle:
        for _ in range(size // MB):
            handle.write(os.urandom(MB))
    target = tmp / "back.bin"
    mb = size / MB
    bench.throughput(
        f"s3 upload {mb:.0f} MB",
        "MB/s",
        int(mb),
        lambda: objects.upload_file(bucket, "big", source),
        lambda: raw.upload_file(str(source), bucket, "raw-big"),  # type: ignore[attr-defined]
        "boto3 upload_file",
        threshold=10,
        group=GROUP,
    )
    bench.throughput(
        f"s3 download {mb:.0f} MB",
        "MB/s",
        int(mb),
        lambda: objects.download_file(bucket, "big", target),
        lambda: raw.download_file(bucket, "raw-big", str(target)),  # type: ignore[attr-defined]
        "boto3 download_file",
        threshold=20,
        group=GROUP,
    )


def _small(bench: Bench, objects: ObjectStore, raw: object, bucket: str) -> None:
    n = bench.size(500, 100)
    payload = os.urandom(4096)

    def lib_put() -> None:
        for i in range(n):
            objects.put_bytes(bucket, f"small/{i}", payload)

    def raw_put() -> None:
        for i in range(n):
            raw.put_object(Bucket=bucket, Key=f"raw-small/{i}", Body=payload)  # type: ignore[attr-defined]

    def lib_get() -> None:
        for i in range(n):
            objects.get_bytes(bucket, f"small/{i}")

    def raw_get() -> None:
        for i in range(n):
            raw.get_object(Bucket=bucket, Key=f"raw-small/{i}")["Body"].read()  # type: ignore[attr-defined]

    bench.throughput("s3 put 4 KB objects", "objects/s", n, lib_put, raw_put, "boto3 put_object", group=GROUP)
    bench.throughput("s3 get 4 KB objects", "objects/s", n, lib_get, raw_get, "boto3 get_object", group=GROUP)
