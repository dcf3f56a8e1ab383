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


class DecodeError(CorruptValueError):
    """A message that is not a vector record this library can read; it belongs in the dead-letter topic."""


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
            array = np.asarray(vector, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"vector of record {id!r} must be numbers: {exc}") from exc
        if array.ndim != 1 or array.size == 0:
            raise InvalidInputError(f"vector of record {id!r} must be 1-D and not empty, got shape {array.shape}")
        if not np.isfinite(array).all():
            raise InvalidInputError(f"vector of record {id!r} contains NaN or infinity")
        return cls(id, array, dict(metadata or {}), timestamp_ms)


Headers = list[tuple[str, bytes]]


def encode(record: VectorRecord) -> tuple[bytes, bytes, Headers]:
    """(key, value, headers) for a producer."""
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
    found = dict(headers or [])
    version = found.get(HEADER_SCHEMA)
    if version is None:
        raise DecodeError("no vs-schema header: not a vector record")
    if version != str(SCHEMA_VERSION).encode():
        raise DecodeError(f"schema version {version.decode(errors='replace')} is not supported (this library: 1)")
    if key is None:
        raise DecodeError("a vector record needs its id as the message key")
    if value is None or value[:2] != MAGIC or len(value) < 6:
        raise DecodeError("value does not start with the vector record marker")
    (dim,) = struct.unpack("<I", value[2:6])
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
