"""A compact, versioned binary format for NumPy arrays: header (dtype, shape) + raw little-endian bytes.

Not pickle (unsafe to load from a shared server) and not JSON lists (ten times larger and slow).
Layout: b"VSA" | version (1 byte) | dtype string length (1 byte) | dtype string | ndim (1 byte) |
        ndim x uint64 little-endian dims | data (C order, little-endian).

Vectors come in batches of one model's output (one dtype, one shape), so headers are built and parsed
once per (dtype, shape) and a batch sharing one header is decoded with one copy: per vector, the format
then costs about what `tobytes()`/`frombuffer()` alone cost (see benchmarks/redis_bench.py).
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from vectorstack.errors import CorruptValueError, InvalidInputError

MAGIC = b"VSA"
VERSION = 1
# Numeric kinds only: bool, signed/unsigned int, float, complex. Objects hold pointers, not values, and
# strings/structured dtypes are better stored as what they are; neither is accepted in either direction.
ALLOWED_KINDS = frozenset("biufc")
MAX_NDIM = 32
_DECODE_ERRORS = (IndexError, struct.error, TypeError, ValueError, UnicodeDecodeError, OverflowError)


# Real numbers only, for vectors a distance is computed on: a complex value cast to float loses its
# imaginary part (NumPy only warns), and bools, strings and objects are no coordinates at all.
REAL_KINDS = frozenset("iuf")


def real_float32(values: Any, what: str = "vectors") -> npt.NDArray[np.float32]:
    """`values` (a list of numbers, nested lists or an array) as float32, refusing anything but real numbers:
    complex, bool, string and object data, and ragged lists, with the library's InvalidInputError."""
    if isinstance(values, np.ndarray):
        array = values
    else:
        try:
            array = np.asarray(values)
        except (TypeError, ValueError) as exc:  # ragged lists, objects NumPy cannot hold
            raise InvalidInputError(f"{what} must be real numbers in equal-length rows: {exc}") from exc
    if array.dtype.kind not in REAL_KINDS:
        raise InvalidInputError(
            f"{what} must be real numbers (int or float), got dtype {array.dtype}: complex, bool, text and object "
            "values are refused rather than cast"
        )
    with np.errstate(over="ignore"):  # a float64 beyond float32's range becomes inf, refused by the finite check
        return array.astype(np.float32, copy=False)


@functools.lru_cache(maxsize=256)
def _header(dtype: np.dtype[Any], shape: tuple[int, ...]) -> bytes:
    """The header for `dtype` (stored little-endian) and `shape`; refuses what the format does not hold."""
    if dtype.kind not in ALLOWED_KINDS or dtype.fields is not None:
        raise InvalidInputError(f"dtype {dtype} cannot be cached; use a numeric dtype (float32, int64, ...)")
    if len(shape) > MAX_NDIM:
        raise InvalidInputError(f"arrays of {len(shape)} dimensions are not supported (at most {MAX_NDIM})")
    name = dtype.newbyteorder("<").str.encode()
    return MAGIC + bytes([VERSION, len(name)]) + name + bytes([len(shape)]) + struct.pack(f"<{len(shape)}Q", *shape)


def check_finite(array: npt.NDArray[Any], what: str) -> None:
    """Refuse NaN and infinity in a float or complex array (an embedding holding them ranks as garbage and
    poisons every distance computed with it); other kinds are finite by construction."""
    if array.dtype.kind not in "fc" or array.size == 0:
        return
    finite = np.isfinite(array)
    if not finite.all():
        first = tuple(int(i) for i in np.argwhere(~finite)[0])
        where = first[0] if len(first) == 1 else first
        raise InvalidInputError(
            f"{what} holds NaN or infinity (first at index {where}); every value must be a finite number: "
            "check the model or the step that produced it"
        )


def encode_array(array: Any) -> bytes:
    if not isinstance(array, np.ndarray):
        raise InvalidInputError(f"expected a NumPy array, got {type(array).__name__}")
    if array.dtype.byteorder == ">":  # "<", "=" (native: little-endian wherever NumPy runs here) and "|" are kept
        array = array.astype(array.dtype.newbyteorder("<"))
    data: bytes = array.tobytes()  # C order, whatever the array's own layout
    return _header(array.dtype, array.shape) + data


@functools.lru_cache(maxsize=256)
def _parse_header(header: bytes) -> tuple[np.dtype[Any], tuple[int, ...], int]:
    """(native dtype, shape, data length) of a complete header whose marker and length `_header_length` has
    checked; parsing costs more than a small vector's copy."""
    if header[3] != VERSION:
        raise CorruptValueError(
            f"array format version {header[3]}, but this library reads version {VERSION}: written by a newer "
            "vectorstack (upgrade this one) or damaged"
        )
    dtype_len = header[4]
    dtype = np.dtype(header[5 : 5 + dtype_len].decode())
    if dtype.kind not in ALLOWED_KINDS or dtype.fields is not None:
        raise CorruptValueError(f"array header names dtype {dtype}, which vectorstack never writes: value is damaged")
    ndim = header[5 + dtype_len]
    shape = struct.unpack(f"<{ndim}Q", header[6 + dtype_len :])
    return dtype, shape, math.prod(shape) * dtype.itemsize


def _header_length(blob: bytes) -> int:
    if blob[:3] != MAGIC:
        raise CorruptValueError("value is not an encoded array (no VSA header); was it written by vectorstack?")
    ndim = blob[5 + blob[4]]
    if ndim > MAX_NDIM:
        raise CorruptValueError(f"array header says {ndim} dimensions (at most {MAX_NDIM}): value is damaged")
    return 6 + blob[4] + 8 * ndim


def decode_array(blob: bytes) -> npt.NDArray[Any]:
    """A writable array in native byte order (a copy: the blob may be a shared, read-only buffer)."""
    try:
        offset = _header_length(blob)
        dtype, shape, expected = _parse_header(blob[:offset])
        if len(blob) - offset != expected:
            raise CorruptValueError(
                f"array data is {len(blob) - offset} bytes, header says {expected}: value is damaged"
            )
        return np.frombuffer(blob, dtype=dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))
    except CorruptValueError:
        raise
    except _DECODE_ERRORS as exc:
        raise CorruptValueError(f"stored array could not be decoded ({exc}): value is damaged") from exc


def decode_arrays(blobs: Sequence[bytes]) -> list[npt.NDArray[Any]]:
    """`decode_array` for each blob; a batch whose blobs share one header (one model's vectors) is joined and
    copied once, and each array returned is a row of that copy (writable, independent of the others).
    Any blob that does not fit the first one's header sends the whole batch down the one-by-one path, so a
    damaged value raises exactly the error `decode_array` raises for it."""
    if len(blobs) < 2:
        return [decode_array(blob) for blob in blobs]
    first = decode_array(blobs[0])  # validates the header and length the others are compared with
    header = blobs[0][: _header_length(blobs[0])]
    size = len(blobs[0])
    if first.ndim == 0 or not all(len(b) == size and b.startswith(header) for b in blobs):
        return [decode_array(blob) for blob in blobs]
    block = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), size)[:, len(header) :]
    data = np.ascontiguousarray(block).view(first.dtype.newbyteorder("<")).astype(first.dtype, copy=False)
    return list(data.reshape((len(blobs), *first.shape)))
