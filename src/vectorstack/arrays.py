"""A compact, versioned binary format for NumPy arrays: header (dtype, shape) + raw little-endian bytes.

Not pickle (unsafe to load from a shared server) and not JSON lists (ten times larger and slow).
Layout: b"VSA" | version (1 byte) | dtype string length (1 byte) | dtype string | ndim (1 byte) |
        ndim x uint64 little-endian dims | data (C order, little-endian).
"""

from __future__ import annotations

import functools
import math
import struct
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


def encode_array(array: Any) -> bytes:
    if not isinstance(array, np.ndarray):
        raise InvalidInputError(f"expected a NumPy array, got {type(array).__name__}")
    if array.dtype.kind not in ALLOWED_KINDS or array.dtype.fields is not None:
        raise InvalidInputError(f"dtype {array.dtype} cannot be cached; use a numeric dtype (float32, int64, ...)")
    if array.ndim > MAX_NDIM:
        raise InvalidInputError(f"arrays of {array.ndim} dimensions are not supported (at most {MAX_NDIM})")
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    dtype = little.dtype.str.encode()
    header = MAGIC + bytes([VERSION, len(dtype)]) + dtype + bytes([array.ndim])
    header += struct.pack(f"<{array.ndim}Q", *array.shape)
    return header + np.ascontiguousarray(little).tobytes()


@functools.lru_cache(maxsize=64)
def _dtype(name: bytes) -> np.dtype[Any]:
    """Parsing a dtype string costs more than decoding a 128-float vector: parse each name once."""
    dtype = np.dtype(name.decode())
    if dtype.kind not in ALLOWED_KINDS or dtype.fields is not None:
        raise CorruptValueError(f"array header names dtype {dtype}, which vectorstack never writes: value is damaged")
    return dtype


def decode_array(blob: bytes) -> npt.NDArray[Any]:
    try:
        if blob[:3] != MAGIC:
            raise CorruptValueError("value is not an encoded array (no VSA header); was it written by vectorstack?")
        if blob[3] != VERSION:
            raise CorruptValueError(
                f"array format version {blob[3]}, but this library reads version {VERSION}: written by a newer "
                "vectorstack (upgrade this one) or damaged"
            )
        dtype_len = blob[4]
        dtype = _dtype(blob[5 : 5 + dtype_len])
        offset = 5 + dtype_len
        ndim = blob[offset]
        if ndim > MAX_NDIM:
            raise CorruptValueError(f"array header says {ndim} dimensions (at most {MAX_NDIM}): value is damaged")
        offset += 1
        shape = struct.unpack(f"<{ndim}Q", blob[offset : offset + 8 * ndim])
        offset += 8 * ndim
        expected = math.prod(shape) * dtype.itemsize
        if len(blob) - offset != expected:
            raise CorruptValueError(
                f"array data is {len(blob) - offset} bytes, header says {expected}: value is damaged"
            )
        # Read in place (no slice copy), then one copy into a writable array in native byte order.
        return np.frombuffer(blob, dtype=dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))
    except CorruptValueError:
        raise
    except (IndexError, struct.error, TypeError, ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise CorruptValueError(f"stored array could not be decoded ({exc}): value is damaged") from exc
