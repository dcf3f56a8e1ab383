"""What `ObjectStore` returns and takes besides bytes: object descriptions, lifecycle rules, delete reports."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import IO

CHECKSUM_KEY = "vs-sha256"  # the metadata entry holding the SHA-256 recorded at upload
MiB = 1024 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str = ""
    version_id: str | None = None


@dataclass(frozen=True)
class LifecycleRule:
    id: str
    prefix: str
    expire_days: int | None = None
    abort_incomplete_uploads_days: int | None = None


@dataclass
class DeleteReport:
    deleted: int = 0
    failed: list[tuple[str, str]] | None = None


def sha256_of(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(MiB), b""):
        digest.update(block)
    return digest.hexdigest()
