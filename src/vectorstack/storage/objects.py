"""`ObjectStore`: buckets and objects on any S3 API, with checksums verified on every download.

Each upload records the SHA-256 of its bytes as object metadata (`vs-sha256`); downloads recompute it and
refuse damaged data. Large transfers go multipart above a threshold, with parts moved in parallel.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

import boto3
import numpy.typing as npt
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from vectorstack.arrays import decode_array, encode_array
from vectorstack.config import S3Config
from vectorstack.errors import AlreadyExistsError, CorruptValueError, InvalidInputError, NotFoundError
from vectorstack.storage import checks
from vectorstack.storage.checks import check_bucket, check_flag, check_object, check_prefix
from vectorstack.storage.errors import translate
from vectorstack.storage.models import CHECKSUM_KEY, DeleteReport, LifecycleRule, MiB, ObjectInfo, sha256_of
from vectorstack.tracking import Tracker, tracked

T = TypeVar("T")
# A download is verified before the caller's sink sees a byte: held in memory up to this size, on disk above.
SPOOL_IN_MEMORY = 8 * MiB


class ObjectStore:
    def __init__(
        self,
        config: S3Config | None = None,
        *,
        multipart_threshold: int = 16 * MiB,
        part_size: int = 16 * MiB,
        max_concurrency: int = 4,
        tracker: Tracker | None = None,
    ) -> None:
        if isinstance(part_size, bool) or not isinstance(part_size, int) or part_size < 5 * MiB:
            raise InvalidInputError(
                f"part_size must be a whole number of bytes >= 5 MiB (S3's minimum), got {part_size!r}"
            )
        for name, value in (("multipart_threshold", multipart_threshold), ("max_concurrency", max_concurrency)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError(f"{name} must be a whole number >= 1, got {value!r}")
        self.config = config or S3Config.from_env()
        self.tracker = tracker
        cfg = self.config
        self.client = boto3.client(
            "s3",
            endpoint_url=cfg.endpoint_url,
            aws_access_key_id=cfg.access_key,
            aws_secret_access_key=cfg.secret_key,
            region_name=cfg.region,
            config=Config(
                connect_timeout=cfg.timeout,
                read_timeout=cfg.timeout,
                retries={"max_attempts": cfg.retries, "mode": "standard"},
                s3={"addressing_style": "path"},
                signature_version="s3v4",  # SigV2 presigned PUTs are refused by current servers (and by AWS)
                max_pool_connections=max(10, max_concurrency * 2),
            ),
        )
        self.transfer = TransferConfig(
            multipart_threshold=multipart_threshold, multipart_chunksize=part_size, max_concurrency=max_concurrency
        )

    def _call(self, operation: str, fn: Callable[[], T], bucket: str = "", key: str = "") -> T:
        # Translated inside the tracked block, so errors are counted by the library's kinds (NotFoundError...).
        with tracked(self.tracker, "s3", operation):
            try:
                return fn()
            except Exception as exc:
                raise translate(
                    exc, operation, address=self.config.address, timeout=self.config.timeout, bucket=bucket, key=key
                ) from exc

    # -- buckets ----------------------------------------------------------------------------------------
    def create_bucket(self, bucket: str, *, exist_ok: bool = False) -> bool:
        check_flag(exist_ok, "exist_ok")
        if self.bucket_exists(bucket):
            if exist_ok:
                return False
            # AWS answers 200 to its owner re-creating a bucket in us-east-1: decide here, alike everywhere.
            raise AlreadyExistsError(f"bucket {bucket!r} exists already; pass exist_ok=True to accept it")
        self._call("create_bucket", lambda: self.client.create_bucket(Bucket=bucket), bucket)
        return True

    def bucket_exists(self, bucket: str) -> bool:
        check_bucket(bucket)
        try:
            self._call("head_bucket", lambda: self.client.head_bucket(Bucket=bucket), bucket)
        except NotFoundError:
            return False
        return True

    def list_buckets(self) -> list[str]:
        answer = self._call("list_buckets", self.client.list_buckets)
        return sorted(b["Name"] for b in answer.get("Buckets", []))

    def delete_bucket(self, bucket: str, *, force: bool = False, missing_ok: bool = False) -> None:
        """Delete an empty bucket; `force` first deletes every object, version and unfinished upload."""
        check_bucket(bucket)
        check_flag(force, "force")
        check_flag(missing_ok, "missing_ok")
        if missing_ok and not self.bucket_exists(bucket):
            return
        if force:
            self.abort_incomplete_uploads(bucket)
            self.delete_many(bucket, list(self._all_versions(bucket)))
        self._call("delete_bucket", lambda: self.client.delete_bucket(Bucket=bucket), bucket)

    # -- objects ----------------------------------------------------------------------------------------
    def put_bytes(self, bucket: str, key: str, data: bytes, *, metadata: dict[str, str] | None = None) -> ObjectInfo:
        """Below the multipart threshold: one PUT, no transfer manager and no HEAD afterwards (measured:
        those made a 4 KB put 2.7 times slower than boto3's put_object)."""
        check_object(bucket, key)
        data = checks.check_data(data)
        user_meta = checks.check_metadata(metadata, CHECKSUM_KEY)
        if len(data) >= self.transfer.multipart_threshold:
            return self.upload_stream(bucket, key, io.BytesIO(data), metadata=user_meta)
        meta = {**user_meta, CHECKSUM_KEY: hashlib.sha256(data).hexdigest()}
        answer = self._call(
            "upload", lambda: self.client.put_object(Bucket=bucket, Key=key, Body=data, Metadata=meta), bucket, key
        )
        return ObjectInfo(key, len(data), str(answer.get("ETag", "")).strip('"'), answer.get("VersionId"))

    def get_bytes(self, bucket: str, key: str, *, version_id: str | None = None) -> bytes:
        sink = io.BytesIO()
        self.download_stream(bucket, key, sink, version_id=version_id)
        return sink.getvalue()

    def upload_stream(
        self, bucket: str, key: str, stream: IO[bytes], *, metadata: dict[str, str] | None = None
    ) -> ObjectInfo:
        """Upload from a seekable stream (read twice: once for the checksum, once to send)."""
        check_object(bucket, key)
        checks.check_metadata(metadata, CHECKSUM_KEY)
        checks.check_stream(stream, "read")
        if not stream.seekable():
            stream = io.BytesIO(stream.read())
        start = stream.tell()
        checksum = sha256_of(stream)
        stream.seek(start)
        return self._upload(
            bucket,
            key,
            checksum,
            metadata,
            lambda extra: self.client.upload_fileobj(stream, bucket, key, ExtraArgs=extra, Config=self.transfer),
        )

    def upload_file(
        self, bucket: str, key: str, path: str | Path, *, metadata: dict[str, str] | None = None
    ) -> ObjectInfo:
        """By file name, not as a stream: boto3 then reads each part in its own worker thread, where a
        stream is read part by part in the caller's (measured: about a fifth faster at 120 MB)."""
        check_object(bucket, key)
        checks.check_metadata(metadata, CHECKSUM_KEY)
        if not isinstance(path, str | Path):
            raise InvalidInputError(f"path must be a str or Path, got {type(path).__name__}")
        try:
            with Path(path).open("rb") as handle:
                checksum = sha256_of(handle)
        except OSError as exc:
            raise InvalidInputError(f"cannot read {str(path)!r} to upload it: {exc.strerror or exc}") from exc
        return self._upload(
            bucket,
            key,
            checksum,
            metadata,
            lambda extra: self.client.upload_file(str(path), bucket, key, ExtraArgs=extra, Config=self.transfer),
        )

    def _upload(
        self,
        bucket: str,
        key: str,
        checksum: str,
        metadata: dict[str, str] | None,
        send: Callable[[dict[str, Any]], object],
    ) -> ObjectInfo:
        """Send with the checksum among the metadata (what downloads verify), then read back what S3 stored."""
        extra = {"Metadata": {**(metadata or {}), CHECKSUM_KEY: checksum}}
        self._call("upload", lambda: send(extra), bucket, key)
        return self.head(bucket, key)

    def download_stream(self, bucket: str, key: str, sink: IO[bytes], *, version_id: str | None = None) -> int:
        """Download, verify the checksum recorded at upload, and only then write into `sink`; returns the
        byte count. The bytes are spooled (in memory up to SPOOL_IN_MEMORY, then in a temporary file) so a
        sink never holds data that failed its checksum: on CorruptValueError it has received nothing."""
        check_object(bucket, key)
        checks.check_version(version_id)
        checks.check_stream(sink, "write")
        extra = {"VersionId": version_id} if version_id else {}
        # One GET: its answer carries the checksum metadata too (a HEAD first doubled the requests, and
        # could describe another version than the one then read).
        answer = self._call("download", lambda: self.client.get_object(Bucket=bucket, Key=key, **extra), bucket, key)
        expected = answer.get("Metadata", {}).get(CHECKSUM_KEY)
        digest = hashlib.sha256()
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:

            def receive() -> int:
                for block in answer["Body"].iter_chunks(MiB):
                    digest.update(block)
                    spool.write(block)
                return spool.tell()

            size = self._call("download", receive, bucket, key)  # a connection lost mid-body is translated too
            if expected and digest.hexdigest() != expected:
                raise CorruptValueError(
                    f"object {bucket}/{key} fails its checksum: stored sha256 {expected[:12]}..., "
                    f"downloaded {digest.hexdigest()[:12]}... ({size} bytes); the data is damaged (nothing was "
                    "written to the sink): restore it from a backup or upload it again"
                )
            spool.seek(0)
            shutil.copyfileobj(spool, sink, MiB)
        return size

    def download_file(self, bucket: str, key: str, path: str | Path) -> int:
        if not isinstance(path, str | Path):
            raise InvalidInputError(f"path must be a str or Path, got {type(path).__name__}")
        check_object(bucket, key)
        target = Path(path)
        partial = target.with_name(target.name + ".part")
        try:
            with partial.open("wb") as handle:
                size = self.download_stream(bucket, key, handle)
            partial.replace(target)  # never leave a damaged file under the real name
        finally:
            partial.unlink(missing_ok=True)
        return size

    def put_array(self, bucket: str, key: str, array: npt.NDArray[Any]) -> ObjectInfo:
        return self.put_bytes(bucket, key, encode_array(array))

    def get_array(self, bucket: str, key: str) -> npt.NDArray[Any]:
        return decode_array(self.get_bytes(bucket, key))

    def _head_raw(self, bucket: str, key: str, version_id: str | None = None) -> dict[str, Any]:
        check_object(bucket, key)
        checks.check_version(version_id)
        extra = {"VersionId": version_id} if version_id else {}
        return dict(self._call("head", lambda: self.client.head_object(Bucket=bucket, Key=key, **extra), bucket, key))

    def head(self, bucket: str, key: str) -> ObjectInfo:
        raw = self._head_raw(bucket, key)
        return ObjectInfo(key, int(raw["ContentLength"]), str(raw.get("ETag", "")).strip('"'), raw.get("VersionId"))

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self._head_raw(bucket, key)
        except NotFoundError:
            return False
        return True

    def list_objects(self, bucket: str, prefix: str = "") -> list[ObjectInfo]:
        return list(self.iter_objects(bucket, prefix))

    def iter_objects(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Not a generator: arguments are checked and the listing is read when called, so a bad bucket or
        a missing one fails here, not at the caller's first next()."""
        check_bucket(bucket)
        check_prefix(prefix)
        paginator = self.client.get_paginator("list_objects_v2")
        pages = self._call("list", lambda: list(paginator.paginate(Bucket=bucket, Prefix=prefix)), bucket)
        return iter(
            [
                ObjectInfo(item["Key"], int(item["Size"]), str(item.get("ETag", "")).strip('"'))
                for page in pages
                for item in page.get("Contents", [])
            ]
        )

    def delete(self, bucket: str, key: str) -> None:
        check_object(bucket, key)
        self._call("delete", lambda: self.client.delete_object(Bucket=bucket, Key=key), bucket, key)

    def delete_many(self, bucket: str, keys: Iterable[str | tuple[str, str]]) -> DeleteReport:
        """Delete in batches of 1000 (the S3 limit); report exactly which keys failed. Every key is checked
        before the first batch is sent, so one bad item deletes nothing."""
        check_bucket(bucket)
        items = checks.check_keys(keys)
        report = DeleteReport(failed=[])
        batch: list[dict[str, str]] = []

        def flush() -> None:
            if not batch:
                return
            answer = self._call(
                "delete_many",
                lambda: self.client.delete_objects(Bucket=bucket, Delete={"Objects": list(batch), "Quiet": False}),
                bucket,
            )
            report.deleted += len(answer.get("Deleted", []))
            assert report.failed is not None
            report.failed.extend((e["Key"], f"{e.get('Code')}: {e.get('Message')}") for e in answer.get("Errors", []))
            batch.clear()

        for key, version in items:
            batch.append({"Key": key, **({"VersionId": version} if version else {})})
            if len(batch) == 1000:
                flush()
        flush()
        return report

    # -- versions, lifecycle, links, uploads ------------------------------------------------------------
    def enable_versioning(self, bucket: str) -> None:
        check_bucket(bucket)
        self._call(
            "versioning",
            lambda: self.client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}),
            bucket,
        )

    def versions(self, bucket: str, key: str) -> list[str]:
        """Version ids of `key`, newest first."""
        check_object(bucket, key)
        answer = self._call("versions", lambda: self.client.list_object_versions(Bucket=bucket, Prefix=key), bucket)
        found = [v for v in answer.get("Versions", []) if v["Key"] == key]
        return [v["VersionId"] for v in sorted(found, key=lambda v: v["LastModified"], reverse=True)]

    def _all_versions(self, bucket: str) -> Iterator[tuple[str, str]]:
        paginator = self.client.get_paginator("list_object_versions")
        for page in self._call("versions", lambda: list(paginator.paginate(Bucket=bucket)), bucket):
            for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                yield item["Key"], item["VersionId"]

    def set_lifecycle(self, bucket: str, rules: Iterable[LifecycleRule]) -> None:
        """Replace the bucket's lifecycle rules; each rule is checked (days >= 1, at least one action)
        before any is sent."""
        check_bucket(bucket)
        wire = []
        for rule in checks.check_rules(rules):
            entry: dict[str, Any] = {"ID": rule.id, "Status": "Enabled", "Filter": {"Prefix": rule.prefix}}
            if rule.expire_days is not None:
                entry["Expiration"] = {"Days": rule.expire_days}
            if rule.abort_incomplete_uploads_days is not None:
                entry["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": rule.abort_incomplete_uploads_days}
            wire.append(entry)
        self._call(
            "lifecycle",
            lambda: self.client.put_bucket_lifecycle_configuration(
                Bucket=bucket, LifecycleConfiguration={"Rules": wire}
            ),
            bucket,
        )

    def lifecycle(self, bucket: str) -> list[LifecycleRule]:
        check_bucket(bucket)
        answer = self._call("lifecycle", lambda: self.client.get_bucket_lifecycle_configuration(Bucket=bucket), bucket)
        return [
            LifecycleRule(
                r["ID"],
                r.get("Filter", {}).get("Prefix", ""),
                r.get("Expiration", {}).get("Days"),
                r.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation"),
            )
            for r in answer.get("Rules", [])
        ]

    def presigned_url(self, bucket: str, key: str, *, expires: int = 3600, method: str = "get") -> str:
        check_object(bucket, key)
        checks.check_expires(expires)
        if method not in ("get", "put"):
            raise InvalidInputError(f"presigned URLs are for method 'get' or 'put', got {method!r}")
        return str(
            self._call(
                "presign",
                lambda: self.client.generate_presigned_url(
                    f"{method}_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
                ),
                bucket,
                key,
            )
        )

    def incomplete_uploads(self, bucket: str, prefix: str = "") -> list[tuple[str, str]]:
        check_bucket(bucket)
        check_prefix(prefix)
        answer = self._call("uploads", lambda: self.client.list_multipart_uploads(Bucket=bucket, Prefix=prefix), bucket)
        return [(u["Key"], u["UploadId"]) for u in answer.get("Uploads", [])]

    def abort_incomplete_uploads(self, bucket: str, prefix: str = "") -> int:
        """Free the parts of interrupted multipart uploads (they cost storage and are invisible)."""
        pending = self.incomplete_uploads(bucket, prefix)
        for key, upload_id in pending:
            self._call(
                "abort",
                lambda k=key, u=upload_id: self.client.abort_multipart_upload(  # type: ignore[misc]
                    Bucket=bucket, Key=k, UploadId=u
                ),
                bucket,
                key,
            )
        return len(pending)
