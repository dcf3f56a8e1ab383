"""The wire format of vector records on Kafka, versioned so old consumers can refuse what they don't know.

Key: the record id (UTF-8). Headers: `vs-schema` (format version), `vs-dim`, `vs-id-type`.
Value: b"VR" | dim (uint32 little-endian) | dim x float32 little-endian | metadata as UTF-8 JSON.
The vector travels as raw bytes: 4 bytes a dimension, no text conversion either way.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from vectorstack.errors import CorruptValueError, InvalidInputError

SCHEMA_VERSION = 1
MAGIC = b"VR"
HEADER_SCHEMA = "vs-schema"
HEADER_DIM = "vs-dim"
HEADER_ID_TYPE = "vs-id-type"


@dataclass(frozen=True)
class VectorRecord:
    id: int | str
    vector: npt.NDArray[np.float32]
    metadata: dict[str, Any] = field(default_factory=dict)
    timestamp_ms: int | None = None  # None: the time of sending

    @classmethod
    def of(
        cls, id: int | str, vector: Any, metadata: Mapping[str, Any] | None = None, timestamp_ms: int | None = None
    ) -> VectorRecord:
        """Build with checks: a finite 1-D float vector, an int or str id, JSON metadata."""
        if isinstance(id, bool) or not isinstance(id, int | str) or id == "":
            raise InvalidInputError(f"record id must be a non-empty str or an int, got {id!r}")
        try:
            raw = np.asarray(vector)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"vector of record {id!r} must be numbers: {exc}") from exc
        # Only real numbers: a cast would drop a complex vector's imaginary part, read text as numbers,
        # and turn booleans into 0 and 1.
        if raw.dtype.kind not in "fiu":
            raise InvalidInputError(f"vector of record {id!r} must hold real numbers, got dtype {raw.dtype}")
        with np.errstate(over="ignore"):  # a float64 beyond float32's range becomes inf, refused below
            array = raw.astype(np.float32)
        if array.ndim != 1 or array.size == 0:
            raise InvalidInputError(f"vector of record {id!r} must be 1-D and not empty, got shape {array.shape}")
        if not np.isfinite(array).all():
            raise InvalidInputError(f"vector of record {id!r} contains NaN or infinity")
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InvalidInputError(f"metadata of record {id!r} must be a mapping (dict), got {metadata!r}")
        record = cls(id, array, dict(metadata or {}), timestamp_ms)
        _check_record(record)
        return record


Headers = list[tuple[str, bytes]]


def _check_record(record: VectorRecord) -> None:
    """What `VectorRecord.of` guarantees, for a record built without it."""
    if isinstance(record.id, bool) or not isinstance(record.id, int | str) or record.id == "":
        raise InvalidInputError(f"record id must be a non-empty str or an int, got {record.id!r}")
    vector = record.vector
    if not isinstance(vector, np.ndarray) or vector.dtype.kind not in "fiu" or vector.ndim != 1 or not vector.size:
        raise InvalidInputError(
            f"vector of record {record.id!r} must be a non-empty 1-D numeric numpy array (VectorRecord.of makes one)"
        )
    with np.errstate(over="ignore"):  # what is sent is float32: a float64 beyond its range would be inf
        sent = vector if vector.dtype == np.float32 else vector.astype(np.float32)
    if not np.isfinite(sent).all():
        raise InvalidInputError(f"vector of record {record.id!r} contains NaN or infinity (as float32)")
    if not isinstance(record.metadata, dict):
        raise InvalidInputError(f"metadata of record {record.id!r} must be a dict, got {record.metadata!r}")
    stamp = record.timestamp_ms
    if stamp is not None and (isinstance(stamp, bool) or not isinstance(stamp, int) or stamp < 0):
        raise InvalidInputError(
            f"timestamp_ms of record {record.id!r} must be ms since the epoch or None, got {stamp!r}"
        )


@dataclass(frozen=True)
class ReceivedRecord:
    """A decoded record and where it came from (topic, partition, offset)."""

    record: VectorRecord
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Undecodable:
    """A message that is not a vector record, kept whole: its place, its raw bytes and why it failed, so a
    caller that catches DecodeError can still store, forward or dead-letter it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None  # None: a tombstone
    headers: Sequence[tuple[str, bytes]]
    cause: DecodeError


class DecodeError(CorruptValueError):
    """A message that is not a vector record this library can read; it belongs in the dead-letter topic.

    Raised by `decode` for one message, and by `StreamConsumer.poll_records` (no dead-letter topic set) for
    a batch that held such messages. Then nothing of the batch is lost: `.records` are its good records,
    decoded, in order, and `.undecodable` the bad ones whole (place, raw bytes, cause). The consumer's
    positions are past the whole batch, so a `commit()` after catching this is safe exactly because the
    caller holds every one of its messages: process `.records`, keep or forward `.undecodable`, commit."""

    def __init__(
        self,
        message: str,
        *,
        records: Sequence[ReceivedRecord] = (),
        undecodable: Sequence[Undecodable] = (),
    ) -> None:
        super().__init__(message)
        self.records: list[ReceivedRecord] = list(records)
        self.undecodable: list[Undecodable] = list(undecodable)


def encode(record: VectorRecord) -> tuple[bytes, bytes, Headers]:
    """(key, value, headers) for a producer. The record is checked again here, since a VectorRecord built
    directly (not through `of`) may hold anything, and what is sent must be what a consumer can decode."""
    if not isinstance(record, VectorRecord):
        raise InvalidInputError(f"expected a VectorRecord (build one with VectorRecord.of), got {record!r}")
    _check_record(record)
    try:
        meta = json.dumps(record.metadata, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"metadata of record {record.id!r} is not JSON-serialisable: {exc}") from exc
    vector = np.ascontiguousarray(record.vector, dtype="<f4")
    value = MAGIC + struct.pack("<I", vector.size) + vector.tobytes() + meta
    headers: Headers = [
        (HEADER_SCHEMA, str(SCHEMA_VERSION).encode()),
        (HEADER_DIM, str(vector.size).encode()),
        (HEADER_ID_TYPE, b"int" if isinstance(record.id, int) else b"str"),
    ]
    return str(record.id).encode(), value, headers


def decode(
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]] | None,
    timestamp_ms: int | None = None,
    *,
    expected_dim: int | None = None,
) -> VectorRecord:
    """The record in a message; DecodeError says precisely why a message is not one."""
    if not isinstance(key, bytes | None) or not isinstance(value, bytes | None):
        raise InvalidInputError(f"decode takes the message's key and value as bytes or None, got {key!r}, {value!r}")
    if expected_dim is not None and (isinstance(expected_dim, bool) or not isinstance(expected_dim, int)):
        raise InvalidInputError(f"expected_dim must be a whole number or None, got {expected_dim!r}")
    try:
        found = dict(headers or [])
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"headers must be (name, bytes) pairs, got {headers!r}") from exc
    version = found.get(HEADER_SCHEMA)
    if version is None:
        raise DecodeError("no vs-schema header: not a vector record")
    if version != str(SCHEMA_VERSION).encode():
        raise DecodeError(f"schema version {version.decode(errors='replace')} is not supported (this library: 1)")
    if key is None:
        raise DecodeError("a vector record needs its id as the message key")
    if value is None:
        raise DecodeError("a tombstone (a message with no value) is not a vector record")
    if value[:2] != MAGIC or len(value) < 6:
        raise DecodeError("value does not start with the vector record marker")
    (dim,) = struct.unpack("<I", value[2:6])
    if dim == 0:
        raise DecodeError("dimension 0: a vector record holds at least one number")
    end = 6 + 4 * dim
    if len(value) < end:
        raise DecodeError(f"value holds {len(value) - 6} vector bytes, dim {dim} needs {4 * dim}")
    if found.get(HEADER_DIM) not in (None, str(dim).encode()):
        raise DecodeError(f"header vs-dim says {found[HEADER_DIM]!r}, the value holds {dim}")
    if expected_dim is not None and dim != expected_dim:
        raise DecodeError(f"dimension {dim}, expected {expected_dim}")
    vector = np.frombuffer(value[6:end], dtype="<f4").astype(np.float32)
    if not np.isfinite(vector).all():
        raise DecodeError("vector contains NaN or infinity")
    try:
        metadata = json.loads(value[end:]) if len(value) > end else {}
    except ValueError as exc:
        raise DecodeError(f"metadata is not JSON: {exc}") from exc
    if not isinstance(metadata, dict):
        raise DecodeError("metadata must be a JSON object")
    text_id = key.decode(errors="replace")
    record_id: int | str = (
        int(text_id) if found.get(HEADER_ID_TYPE) == b"int" and text_id.lstrip("-").isdigit() else text_id
    )
    return VectorRecord(record_id, vector, metadata, timestamp_ms)


def now_ms() -> int:
    return int(time.time() * 1000)
