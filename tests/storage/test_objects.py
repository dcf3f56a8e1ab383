"""Objects on a real S3 server: transfers with checksums, batches, versions, lifecycle, links, failures."""

from __future__ import annotations

import hashlib
import io
import os
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import pytest
import requests
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from testservices.ports import free_port
from testservices.state import Endpoint
from vectorstack.config import S3Config
from vectorstack.errors import (
    AlreadyExistsError,
    AuthenticationError,
    CorruptValueError,
    InvalidInputError,
    NotFoundError,
    ServiceUnavailableError,
)
from vectorstack.monitoring import Metrics
from vectorstack.storage import LifecycleRule, ObjectStore
from vectorstack.storage.models import CHECKSUM_KEY

from ..waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.storage]
MiB = 1024 * 1024
TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    """A plain HTTP client with no S3 credentials: what a presigned link is handed to."""
    with requests.Session() as session:
        yield session


def test_bytes_round_trip_listing_and_existence(objects: ObjectStore, bucket: str) -> None:
    info = objects.put_bytes(bucket, "docs/a.txt", b"alpha", metadata={"owner": "tests"})
    objects.put_bytes(bucket, "docs/b.txt", b"beta")
    objects.put_bytes(bucket, "other/c.txt", b"gamma")
    assert info.size == 5
    assert objects.get_bytes(bucket, "docs/a.txt") == b"alpha"
    assert [o.key for o in objects.list_objects(bucket, "docs/")] == ["docs/a.txt", "docs/b.txt"]
    assert objects.exists(bucket, "other/c.txt")
    assert not objects.exists(bucket, "other/none")
    objects.delete(bucket, "docs/a.txt")
    assert not objects.exists(bucket, "docs/a.txt")


def test_files_streams_and_arrays(objects: ObjectStore, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(os.urandom(300_000))
    objects.upload_file(bucket, "file.bin", source)
    target = tmp_path / "out.bin"
    assert objects.download_file(bucket, "file.bin", target) == 300_000
    assert target.read_bytes() == source.read_bytes()
    objects.upload_stream(bucket, "stream.bin", io.BytesIO(b"streamed"))
    sink = io.BytesIO()
    objects.download_stream(bucket, "stream.bin", sink)
    assert sink.getvalue() == b"streamed"
    array = np.random.default_rng(0).random((64, 128)).astype(np.float32)
    objects.put_array(bucket, "vectors.npy", array)
    back = objects.get_array(bucket, "vectors.npy")
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, array)


@pytest.mark.slow
def test_120_mb_multipart_upload_and_download_are_intact(objects: ObjectStore, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with source.open("wb") as handle:
        for _ in range(120):
            block = os.urandom(MiB)
            digest.update(block)
            handle.write(block)
    info = objects.upload_file(bucket, "big.bin", source)
    assert info.size == 120 * MiB
    assert info.etag.endswith("-8"), "uploaded in 8 parts of 16 MiB, in parallel"
    target = tmp_path / "big.out"
    assert objects.download_file(bucket, "big.bin", target) == 120 * MiB
    with target.open("rb") as handle:
        assert hashlib.file_digest(handle, "sha256").hexdigest() == digest.hexdigest()


def test_damaged_data_fails_its_checksum(objects: ObjectStore, bucket: str, tmp_path: Path) -> None:
    objects.put_bytes(bucket, "k", b"original")
    stored = objects.client.head_object(Bucket=bucket, Key="k")["Metadata"][CHECKSUM_KEY]
    objects.client.put_object(Bucket=bucket, Key="k", Body=b"tampered", Metadata={CHECKSUM_KEY: stored})
    with pytest.raises(CorruptValueError, match="fails its checksum"):
        objects.get_bytes(bucket, "k")
    with pytest.raises(CorruptValueError):
        objects.download_file(bucket, "k", tmp_path / "k")
    assert not (tmp_path / "k").exists(), "no damaged file is left under the real name"


def test_batch_delete_reports_every_key(objects: ObjectStore, bucket: str) -> None:
    keys = [f"batch/{i:05d}" for i in range(1100)]
    for key in keys:
        objects.client.put_object(Bucket=bucket, Key=key, Body=b"x")
    report = objects.delete_many(bucket, keys)
    assert report.deleted == 1100, "two requests: S3 takes 1000 keys at most"
    assert report.failed == []
    assert objects.list_objects(bucket, "batch/") == []


def test_versions_keep_every_write(objects: ObjectStore, bucket: str) -> None:
    objects.enable_versioning(bucket)
    objects.put_bytes(bucket, "model.bin", b"v1")
    objects.put_bytes(bucket, "model.bin", b"v2")
    versions = objects.versions(bucket, "model.bin")
    assert len(versions) == 2
    assert objects.get_bytes(bucket, "model.bin") == b"v2"
    assert objects.get_bytes(bucket, "model.bin", version_id=versions[1]) == b"v1"


def test_lifecycle_rules_round_trip(objects: ObjectStore, bucket: str) -> None:
    objects.set_lifecycle(bucket, [LifecycleRule("tmp-expiry", "tmp/", expire_days=1)])
    [rule] = objects.lifecycle(bucket)
    assert (rule.id, rule.prefix, rule.expire_days) == ("tmp-expiry", "tmp/", 1)
    with pytest.raises(InvalidInputError):
        objects.set_lifecycle(bucket, [])


def test_presigned_urls_work_without_credentials(objects: ObjectStore, bucket: str, http: requests.Session) -> None:
    objects.put_bytes(bucket, "shared.txt", b"hello")
    answer = http.get(objects.presigned_url(bucket, "shared.txt", expires=60), timeout=TIMEOUT_S)
    answer.raise_for_status()
    assert answer.content == b"hello"
    http.put(objects.presigned_url(bucket, "up.txt", method="put"), data=b"put", timeout=TIMEOUT_S).raise_for_status()
    assert objects.client.get_object(Bucket=bucket, Key="up.txt")["Body"].read() == b"put"


def test_interrupted_multipart_upload_is_cleaned_up(objects: ObjectStore, bucket: str) -> None:
    started = objects.client.create_multipart_upload(Bucket=bucket, Key="half")
    objects.client.upload_part(
        Bucket=bucket, Key="half", UploadId=started["UploadId"], PartNumber=1, Body=b"x" * 5 * MiB
    )
    assert [k for k, _ in objects.incomplete_uploads(bucket)] == ["half"]
    assert objects.abort_incomplete_uploads(bucket) == 1
    assert objects.incomplete_uploads(bucket) == []
    assert not objects.exists(bucket, "half")


def test_bucket_rules(objects: ObjectStore, bucket: str) -> None:
    assert bucket in objects.list_buckets()
    with pytest.raises(AlreadyExistsError, match="exist_ok"):
        objects.create_bucket(bucket)
    assert objects.create_bucket(bucket, exist_ok=True) is False
    objects.put_bytes(bucket, "keep", b"1")
    with pytest.raises(InvalidInputError, match="not empty"):
        objects.delete_bucket(bucket)
    with pytest.raises(InvalidInputError):
        objects.create_bucket("No_Such Bucket!")


def test_missing_things_are_not_found(objects: ObjectStore, bucket: str) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        objects.get_bytes(bucket, "nope")
    with pytest.raises(NotFoundError, match="create it first"):
        objects.put_bytes("no-such-bucket-vs", "k", b"v")
    assert not objects.bucket_exists("no-such-bucket-vs")


def test_wrong_secret_is_refused(s3_config: S3Config, bucket: str) -> None:
    wrong = ObjectStore(S3Config(s3_config.endpoint_url, s3_config.access_key, "wrong-secret", s3_config.region))
    with pytest.raises(AuthenticationError, match="refused the credentials"):
        wrong.list_objects(bucket)


def test_unreachable_endpoint_fails_within_the_timeout() -> None:
    store = ObjectStore(S3Config(f"http://127.0.0.1:{free_port()}", "k", "s", timeout=1.0, retries=1))
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError, match=r"s3 at http://127\.0\.0\.1:\d+ unreachable"):
        store.list_buckets()
    assert time.monotonic() - started < 15


def test_plain_boto3_with_the_exported_variables(s3_service: Endpoint, bucket: str) -> None:
    """What `testservices up s3` gives a user: boto3 with S3_ENDPOINT_URL and the AWS_* variables."""
    env = s3_service.env
    client = boto3.client(
        "s3",
        endpoint_url=env["S3_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    data = os.urandom(24 * MiB)
    client.upload_fileobj(
        io.BytesIO(data),
        bucket,
        "plain-24mb",
        Config=TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB),
    )
    assert client.head_object(Bucket=bucket, Key="plain-24mb")["ETag"].strip('"').endswith("-3")
    body = client.get_object(Bucket=bucket, Key="plain-24mb")["Body"].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    wrong = boto3.client(
        "s3",
        endpoint_url=env["S3_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key="not-the-secret",
        region_name=env["AWS_DEFAULT_REGION"],
    )
    with pytest.raises(ClientError) as info:
        wrong.list_objects_v2(Bucket=bucket)
    assert info.value.response["Error"]["Code"] in ("SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied")


@pytest.mark.parametrize("dtype", ["float32", "float16", "int8", "uint8", "int64"])
def test_arrays_keep_dtype_and_shape(objects: ObjectStore, bucket: str, dtype: str) -> None:
    array = (np.arange(60).reshape(3, 4, 5) % 100).astype(dtype)
    objects.put_array(bucket, f"arr-{dtype}", array)
    back = objects.get_array(bucket, f"arr-{dtype}")
    assert (back.dtype, back.shape) == (array.dtype, array.shape)
    np.testing.assert_array_equal(back, array)


def test_upload_from_a_pipe(objects: ObjectStore, bucket: str) -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "wb") as writer:
        writer.write(b"from a pipe " * 1000)
    with os.fdopen(read_end, "rb") as reader:
        objects.upload_stream(bucket, "piped", reader)
    assert objects.get_bytes(bucket, "piped") == b"from a pipe " * 1000


def test_force_delete_removes_versions_and_unfinished_uploads(objects: ObjectStore, make_bucket: object) -> None:
    name = make_bucket()  # type: ignore[operator]
    objects.enable_versioning(name)
    for body in (b"1", b"2", b"3"):
        objects.put_bytes(name, "v", body)
    objects.client.create_multipart_upload(Bucket=name, Key="unfinished")
    objects.delete_bucket(name, force=True)
    assert not objects.bucket_exists(name)


def test_presigned_url_expires(objects: ObjectStore, bucket: str, http: requests.Session) -> None:
    objects.put_bytes(bucket, "brief", b"x")
    url = objects.presigned_url(bucket, "brief", expires=1)
    status = eventually(
        lambda: http.get(url, timeout=5).status_code,
        "the 1 s link to stop working",
        timeout=15,
        interval=0.5,
        until=lambda code: code != 200,
    )
    assert status == 403, "an expired link is refused"


def test_operations_are_measured_when_metrics_are_given(s3_config: S3Config, bucket: str) -> None:
    metrics = Metrics(system=False)
    store = ObjectStore(s3_config, tracker=metrics)
    store.put_bytes(bucket, "m", b"1")
    assert store.get_bytes(bucket, "m") == b"1"
    with pytest.raises(NotFoundError):
        store.get_bytes(bucket, "absent")
    sample = metrics.registry.get_sample_value
    assert sample("vectorstack_operations_total", {"service": "s3", "operation": "upload", "outcome": "ok"}) == 1
    assert sample("vectorstack_operations_total", {"service": "s3", "operation": "download", "outcome": "error"}) == 1
    assert sample("vectorstack_errors_total", {"service": "s3", "kind": "NotFoundError"}) == 1
