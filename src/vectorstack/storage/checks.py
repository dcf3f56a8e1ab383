"""The input contract of `ObjectStore`: every argument checked before a request is signed or sent.

S3 servers differ in what they refuse and how (AWS, SeaweedFS and MinIO answer a bad bucket name with
different codes, some accept what others refuse), and botocore lets some mistakes through as plain
`TypeError`s. Checking here, by the rules AWS documents, gives one answer everywhere: InvalidInputError,
with the rule in the message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import IO, Any

from vectorstack.errors import InvalidInputError
from vectorstack.storage.models import LifecycleRule

# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html (general purpose buckets)
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
_IPV4 = re.compile(r"\d+\.\d+\.\d+\.\d+\Z")
MAX_KEY_BYTES = 1024
MAX_METADATA_BYTES = 2048  # user metadata, names plus values, as AWS counts it
# Metadata travels as `x-amz-meta-<name>` HTTP headers: names are header tokens, values printable ASCII.
_META_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+\Z")
_META_VALUE = re.compile(r"[ -~]*\Z")
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4's limit


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_bucket(bucket: str) -> str:
    if not isinstance(bucket, str) or not _BUCKET.match(bucket) or ".." in bucket or _IPV4.match(bucket):
        raise InvalidInputError(
            f"bucket name {bucket!r} breaks S3's naming rules: 3-63 characters of lowercase letters, digits, '.' "
            "and '-', starting and ending with a letter or digit, no '..', not an IP address"
        )
    return bucket


def check_key(key: str) -> str:
    if not isinstance(key, str) or not key or len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidInputError(
            f"object key must be a non-empty string of at most {MAX_KEY_BYTES} UTF-8 bytes, got {key!r}"
        )
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(f"object key {key!r} is not valid Unicode text (it holds a lone surrogate)") from exc
    return key


def check_object(bucket: str, key: str) -> None:
    check_bucket(bucket)
    check_key(key)


def check_flag(value: bool, what: str) -> bool:
    """True or False only: a truthy string such as "no" would silently mean yes."""
    if not isinstance(value, bool):
        raise InvalidInputError(f"{what} must be True or False, got {value!r}")
    return value


def check_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or len(prefix.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidInputError(
            f'prefix must be a string of at most {MAX_KEY_BYTES} bytes ("" for all), got {prefix!r}'
        )
    return prefix


def check_version(version_id: str | None) -> str | None:
    if version_id is not None and (not isinstance(version_id, str) or not version_id):
        raise InvalidInputError(
            f"version_id must be a version string (from ObjectStore.versions) or None, got {version_id!r}"
        )
    return version_id


def check_data(data: object) -> bytes:
    """Bytes as they are; text is refused rather than guessed at (which encoding would the reader expect?)."""
    if isinstance(data, str):
        raise InvalidInputError("put_bytes takes bytes, got str; encode the text first, e.g. text.encode('utf-8')")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidInputError(f"put_bytes takes bytes, got {type(data).__name__}")
    return bytes(data)


def check_metadata(metadata: Mapping[str, str] | None, reserved: str) -> dict[str, str]:
    """User metadata: string names and values that fit in HTTP headers, 2 KB in all; `reserved` (the
    checksum the library records itself) may not be set by the caller."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidInputError(f"metadata must be a mapping of str to str, got {type(metadata).__name__}")
    size = 0
    for name, value in metadata.items():
        if not isinstance(name, str) or not _META_NAME.match(name):
            raise InvalidInputError(
                f"metadata name {name!r} must be a non-empty HTTP header token (ASCII letters, digits, '-', '_', ...)"
            )
        if name.lower() == reserved:
            raise InvalidInputError(f"metadata name {name!r} is the library's own checksum; choose another name")
        if not isinstance(value, str):
            raise InvalidInputError(
                f"metadata value of {name!r} must be a str, got {type(value).__name__}; convert it, e.g. str(value)"
            )
        if not _META_VALUE.match(value):
            raise InvalidInputError(
                f"metadata value of {name!r} must be printable ASCII (it travels as an HTTP header); "
                "encode other text first, e.g. urllib.parse.quote(value)"
            )
        size += len(name) + len(value)
    if size > MAX_METADATA_BYTES:
        raise InvalidInputError(f"metadata is {size} bytes, over S3's limit of {MAX_METADATA_BYTES} bytes")
    return dict(metadata)


def check_stream(stream: IO[bytes], what: str) -> IO[bytes]:
    if not callable(getattr(stream, what, None)):
        verb = "read from" if what == "read" else "written to"
        raise InvalidInputError(f"expected a binary file object that can be {verb}, got {type(stream).__name__}")
    return stream


def check_expires(expires: int) -> int:
    if not _whole(expires) or not 1 <= expires <= MAX_PRESIGN_SECONDS:
        raise InvalidInputError(
            f"expires must be a whole number of seconds from 1 to {MAX_PRESIGN_SECONDS} (7 days, SigV4's limit), "
            f"got {expires!r}"
        )
    return expires


def check_days(days: int | None, what: str) -> int | None:
    if days is not None and (not _whole(days) or days < 1):
        raise InvalidInputError(f"{what} must be a whole number of days >= 1 (or None), got {days!r}")
    return days


def check_rules(rules: Iterable[LifecycleRule]) -> list[LifecycleRule]:
    """Lifecycle rules as S3 takes them: each with an id, a prefix and at least one action of >= 1 day (a
    rule of 0 days would expire every object at the next run of the server's lifecycle job)."""
    if isinstance(rules, LifecycleRule | str | bytes) or not isinstance(rules, Iterable):
        raise InvalidInputError(f"set_lifecycle takes a list of LifecycleRule, got {type(rules).__name__}")
    checked = list(rules)
    if not checked:
        raise InvalidInputError("give at least one lifecycle rule")
    for rule in checked:
        if not isinstance(rule, LifecycleRule):
            raise InvalidInputError(f"lifecycle rules must be LifecycleRule objects, got {type(rule).__name__}")
        if not isinstance(rule.id, str) or not 1 <= len(rule.id) <= 255:
            raise InvalidInputError(f"lifecycle rule id must be a string of 1-255 characters, got {rule.id!r}")
        check_prefix(rule.prefix)
        check_days(rule.expire_days, f"expire_days of rule {rule.id!r}")
        check_days(rule.abort_incomplete_uploads_days, f"abort_incomplete_uploads_days of rule {rule.id!r}")
        if rule.expire_days is None and rule.abort_incomplete_uploads_days is None:
            raise InvalidInputError(
                f"lifecycle rule {rule.id!r} does nothing: set expire_days or abort_incomplete_uploads_days"
            )
    return checked


def check_keys(keys: Iterable[Any]) -> list[tuple[str, str | None]]:
    """Every (key, version) of a delete_many, checked before the first batch is sent."""
    if isinstance(keys, str | bytes) or not isinstance(keys, Iterable):
        raise InvalidInputError(
            f"delete_many takes a list of keys or (key, version_id) pairs, got {type(keys).__name__}"
        )
    checked: list[tuple[str, str | None]] = []
    for item in keys:
        if isinstance(item, str):
            checked.append((check_key(item), None))
        elif isinstance(item, tuple) and len(item) == 2:
            checked.append((check_key(item[0]), check_version(item[1])))
        else:
            raise InvalidInputError(f"delete_many: each item is a key or a (key, version_id) pair, got {item!r}")
    return checked
