"""The array encoding and the cache's argument checks, without a server."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest

from vectorstack.arrays import MAGIC, VERSION, decode_array, encode_array
from vectorstack.cache.connection import check_count, check_seconds, check_ttl
from vectorstack.cache.records import series_name
from vectorstack.errors import CorruptValueError, InvalidInputError


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype=np.float32).reshape(3, 4),
        np.array(3.5, dtype=np.float64),
        np.zeros((0, 8), dtype=np.int16),
        np.zeros(0, dtype=np.float32),
        np.array([True, False]),
        np.arange(10, dtype=">i8"),
        np.array([1 + 2j, -3.5j], dtype=np.complex64),
        np.arange(6, dtype=np.uint64).reshape(1, 2, 3, 1),
        np.array([np.inf, -np.inf, 0.0], dtype=np.float16),
        np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)),
        np.arange(100, dtype=np.float32).reshape(10, 10)[::3, ::2],
    ],
    ids=[
        "matrix",
        "0-d",
        "empty-rows",
        "empty",
        "bool",
        "big-endian",
        "complex",
        "4-d",
        "inf-f16",
        "fortran",
        "strided",
    ],
)
def test_round_trip_keeps_values_dtype_and_shape(array: np.ndarray[Any, Any]) -> None:
    back = decode_array(encode_array(array))
    assert back.shape == array.shape
    assert back.dtype == array.dtype.newbyteorder("=")
    assert back.flags.writeable, "a decoded array is the caller's to change"
    np.testing.assert_array_equal(back, array)


def test_nan_survives_bit_for_bit() -> None:
    array = np.array([np.nan, 1.0], dtype=np.float64)
    assert decode_array(encode_array(array)).tobytes() == array.tobytes()


def test_encoding_is_compact_and_versioned() -> None:
    array = np.zeros((100, 128), dtype=np.float32)
    blob = encode_array(array)
    assert blob[:3] == MAGIC
    assert blob[3] == VERSION
    assert len(blob) - array.nbytes < 64
    assert b"pickle" not in blob


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([1, 2], "NumPy array"),
        (np.array(["x"]), "cannot be cached"),
        (np.array([object()], dtype=object), "cannot be cached"),
        (np.zeros(2, dtype=[("a", "f4"), ("b", "i4")]), "cannot be cached"),
        (np.array(["2024-01-01"], dtype="datetime64[D]"), "cannot be cached"),
    ],
    ids=["list", "str", "object", "structured", "datetime"],
)
def test_non_numeric_values_are_refused(value: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        encode_array(value)


def _header(dtype: str, shape: tuple[int, ...]) -> bytes:
    code = dtype.encode()
    return MAGIC + bytes([VERSION, len(code)]) + code + bytes([len(shape)]) + struct.pack(f"<{len(shape)}Q", *shape)


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "no VSA header"),
        (b"not an array at all", "no VSA header"),
        (MAGIC + bytes([9]) + b"\x00" * 10, "newer"),
        (MAGIC + bytes([VERSION]), "could not be decoded"),
        (_header("<f4", (4,)) + b"\x00" * 15, "header says 16"),
        (_header("<f4", (4,)) + b"\x00" * 17, "header says 16"),
        (_header("|O", (1,)) + b"\x00" * 8, "never writes"),
        (_header("<U1", (1,)) + b"\x00" * 4, "never writes"),
        (_header("nonsense", (1,)), "could not be decoded"),
        (MAGIC + bytes([VERSION, 3]) + b"<f4" + bytes([200]), "200 dimensions"),
        (_header("<f4", (2**40, 2**40)), "damaged"),
    ],
    ids=[
        "empty",
        "foreign",
        "version",
        "truncated-header",
        "short",
        "long",
        "object",
        "unicode",
        "bad-dtype",
        "ndim",
        "huge",
    ],
)
def test_damaged_values_raise_corrupt_value_error(blob: bytes, message: str) -> None:
    with pytest.raises(CorruptValueError, match=message):
        decode_array(blob)


def test_a_decode_error_chains_its_cause() -> None:
    with pytest.raises(CorruptValueError) as info:
        decode_array(_header("nonsense", (1,)))
    assert info.value.__cause__ is not None


def test_ttl_rules() -> None:
    assert check_ttl(None) is None
    assert check_ttl(1.5) == 1500
    assert check_ttl(2) == 2000
    assert check_ttl(0.0001) == 1, "a tiny positive TTL still expires, it is not turned into 'never'"
    for bad in (0, 0.0, -3, -0.001, True, "5", float("nan"), float("inf")):
        with pytest.raises(InvalidInputError, match="ttl"):
            check_ttl(bad)  # type: ignore[arg-type]


def test_durations_and_counts() -> None:
    assert check_seconds(0, "block") == 0.0
    assert check_seconds(2.5, "block") == 2.5
    for bad in (-1, float("nan"), float("inf"), "1", None):
        with pytest.raises(InvalidInputError, match="block"):
            check_seconds(bad, "block")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="> 0"):
        check_seconds(0, "retention", allow_zero=False)
    assert check_count(3, "count") == 3
    for bad_count in (0, -1, 1.5, True):
        with pytest.raises(InvalidInputError, match="count"):
            check_count(bad_count, "count")  # type: ignore[arg-type]


def test_series_names_are_canonical_and_unambiguous() -> None:
    assert series_name("requests", None) == "requests"
    assert series_name("requests", {"b": "2", "a": "1"}) == series_name("requests", {"a": "1", "b": "2"})
    # With naive `k=v,k=v` joining these two label sets would collide.
    assert series_name("m", {"a": "1,b=2"}) != series_name("m", {"a": "1", "b": "2"})
    for name in ("", "1abc", "has space", "dash-ed"):
        with pytest.raises(InvalidInputError, match="metric name"):
            series_name(name, None)
    with pytest.raises(InvalidInputError, match="label name"):
        series_name("m", {"bad-label": "x"})
    with pytest.raises(InvalidInputError, match="must be a string"):
        series_name("m", {"n": 5})  # type: ignore[dict-item]
