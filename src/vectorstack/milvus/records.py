"""Checking and batching records before they reach Milvus.

Everything here runs on the client, so bad input is refused before anything is written, and a large
write is cut into batches that fit the server's message size.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from vectorstack.arrays import real_float32
from vectorstack.errors import DimensionMismatchError, InvalidInputError, ValueTooLargeError
from vectorstack.milvus.validation import check_id

# Milvus' default gRPC limit for one request is 64 MiB; stay well below it.
DEFAULT_MAX_BATCH_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class CollectionInfo:
    """The parts of a collection's schema the client needs to check records and queries."""

    name: str
    primary_key: str
    vector_field: str
    dimension: int
    auto_id: bool
    fields: tuple[str, ...]
    id_type: str = "int64"  # or "varchar"
    id_max_length: int = 0  # bytes, for a varchar key
    dynamic_fields: bool = False


@dataclass(frozen=True)
class BatchResult:
    first: int  # position of the batch's first record in the caller's input
    last: int
    count: int
    nbytes: int


@dataclass
class WriteResult:
    """What a write did: how many records, their primary keys, and each batch."""

    count: int = 0
    ids: list[Any] = field(default_factory=list)
    batches: list[BatchResult] = field(default_factory=list)


def as_matrix(vectors: Any, dimension: int, what: str = "vectors") -> npt.NDArray[np.float32]:
    """A (n, dimension) float32 array from a list of lists or an array; only real numbers, all finite."""
    matrix = real_float32(vectors, what)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2:
        raise InvalidInputError(
            f"{what} must be one vector or a 2-D array of shape (n, {dimension}), got shape {matrix.shape}"
        )
    if matrix.shape[0] == 0:
        raise InvalidInputError(f"{what} is empty: pass at least one vector of {dimension} numbers")
    if matrix.shape[1] != dimension:
        raise DimensionMismatchError(
            dimension, int(matrix.shape[1]), f"{what}: expected shape (n, {dimension}), got {matrix.shape}"
        )
    if not np.isfinite(matrix).all():
        bad = int(np.argwhere(~np.isfinite(matrix))[0][0])
        raise InvalidInputError(f"{what}[{bad}] contains NaN or infinity, which no distance can use")
    return matrix


_FLOAT32 = np.dtype(np.float32)


def prepare(
    info: CollectionInfo, records: Sequence[Mapping[str, Any]], *, refuse_duplicates: bool
) -> list[dict[str, Any]]:
    """Validated records with vectors as float32 arrays (no Python float lists). A record that already is a
    dict with such an array is passed on as it is (nothing here or in pymilvus writes to it); any other
    is copied, so the caller's records are never changed."""
    if isinstance(records, Mapping):
        raise InvalidInputError("pass a list of records (dicts), not one record")
    given: object = records  # typed as the caller should pass it; checked as what a caller may pass
    if isinstance(given, str | bytes) or not isinstance(given, Sequence):
        raise InvalidInputError(f"pass a list of records (dicts), got {type(given).__name__}")
    rows: list[dict[str, Any]] = []
    vectors: list[npt.NDArray[np.float32]] = []
    seen: dict[Any, int] = {}
    vector_field, shape, primary_key = info.vector_field, (info.dimension,), info.primary_key
    check_keys = not info.auto_id
    # The fields every record carries: all declared ones (no defaults in Milvus 2.3), the key unless auto_id.
    declared = frozenset(info.fields) - ({primary_key} if info.auto_id else set())
    for position, record in enumerate(records):
        # `type(...) is` first: the ABC isinstance checks cost more than the rest of the loop per record.
        if type(record) is not dict and not isinstance(record, Mapping):
            raise InvalidInputError(f"record {position} is a {type(record).__name__}, not a dict")
        vector = record.get(vector_field)
        if vector is None:
            raise InvalidInputError(f"record {position} has no {vector_field!r} vector")
        row: dict[str, Any]
        if type(vector) is np.ndarray and vector.dtype is _FLOAT32 and type(record) is dict:
            row = record
        else:
            vector = real_float32(vector, f"record {position}'s {vector_field!r}")
            row = {**record, vector_field: vector}
        if vector.shape != shape:
            where = f"record {position} of {info.name!r}"
            if vector.ndim != 1:  # a (2, 4) array for dimension 8 has 8 numbers, but is no vector
                raise InvalidInputError(
                    f"{where}: a vector must be one row of {info.dimension} numbers, expected shape "
                    f"({info.dimension},), got {vector.shape}"
                )
            raise DimensionMismatchError(info.dimension, int(vector.size), where)
        if check_keys:
            if primary_key not in record:
                raise InvalidInputError(f"record {position} has no primary key {primary_key!r}")
            key = record[primary_key]
            check_id(info, key, f"record {position}")
            if refuse_duplicates and key in seen:
                raise InvalidInputError(
                    f"primary key {key!r} appears twice (records {seen[key]} and {position}); "
                    "use upsert to replace a record"
                )
            seen[key] = position
        keys = record.keys()
        if keys != declared and not (info.dynamic_fields and keys >= declared):
            raise InvalidInputError(_fields_refused(info, position, keys, declared))
        rows.append(row)
        vectors.append(vector)
    # One finiteness check over all vectors (a per-row check cost more than the rest of this function), on
    # their concatenation: np.stack does Python work per vector and took half of this function's time.
    if vectors and not np.isfinite(np.concatenate(vectors)).all():
        bad = next(i for i, v in enumerate(vectors) if not np.isfinite(v).all())
        raise InvalidInputError(f"record {bad} of {info.name!r} has NaN or infinity in its vector")
    return rows


def _fields_refused(info: CollectionInfo, position: int, keys: Any, declared: frozenset[str]) -> str:
    missing = sorted(declared - set(keys))
    extra = sorted(str(k) for k in set(keys) - declared)
    parts = [f"lacks {', '.join(missing)}" if missing else "", f"has undeclared {', '.join(extra)}" if extra else ""]
    rule = "every declared field, and no others unless the collection has dynamic fields"
    if info.auto_id and info.primary_key in extra:
        rule += f"; {info.primary_key!r} is assigned by Milvus (auto_id)"
    return f"record {position} of {info.name!r} {' and '.join(p for p in parts if p)}: a record holds {rule}"


def record_size(row: Mapping[str, Any], vector_field: str) -> int:
    """A cheap upper estimate of a record's size on the wire (by exact type first: it runs per record)."""
    size = 16
    for key, value in row.items():
        kind = type(value)
        if kind is int or kind is float or kind is bool:
            size += len(key) + 16
        elif kind is str or kind is bytes:
            size += len(value) + len(key) + 8
        elif key == vector_field:
            size += int(value.nbytes)
        elif isinstance(value, (str, bytes)):
            size += len(value) + len(key) + 8
        elif isinstance(value, (int, float)):
            size += len(key) + 16
        else:
            size += len(repr(value)) + len(key) + 8
    return size


def batches(
    rows: Sequence[dict[str, Any]], vector_field: str, max_bytes: int
) -> Iterator[tuple[int, int, list[dict[str, Any]], int]]:
    """(first, last, rows, bytes) batches of at most `max_bytes`; a single larger record is refused."""
    start = 0
    current: list[dict[str, Any]] = []
    current_bytes = 0
    for position, row in enumerate(rows):
        size = record_size(row, vector_field)
        if size > max_bytes:
            raise ValueTooLargeError(f"record {position}", size, max_bytes, "raise max_batch_bytes or shrink it")
        if current and current_bytes + size > max_bytes:
            yield start, position - 1, current, current_bytes
            start, current, current_bytes = position, [], 0
        current.append(row)
        current_bytes += size
    if current:
        yield start, len(rows) - 1, current, current_bytes
