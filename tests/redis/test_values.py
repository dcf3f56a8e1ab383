"""Vector cache and plain key/value storage, including every kind of bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from vectorstack.cache import KeyValueStore, RedisCache, VectorCache
from vectorstack.errors import (
    CorruptValueError,
    DimensionMismatchError,
    InvalidInputError,
    ValueTooLargeError,
)

from ..waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.redis]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int8", "uint8", "int64", "bool", "complex64"])
def test_arrays_round_trip_with_dtype_and_shape(vectors: VectorCache, dtype: str) -> None:
    array = (np.arange(24).reshape(2, 3, 4) % 7).astype(dtype)
    vectors.set("a", array)
    back = vectors.get("a")
    assert back is not None
    assert back.dtype == array.dtype
    assert back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)
    back[0, 0, 0] = 1  # a decoded array is the caller's to change
    assert vectors.get("missing") is None


@pytest.mark.parametrize(
    "array",
    [np.array(1.5, dtype=np.float32), np.zeros(0, dtype=np.float32), np.zeros((3, 0), dtype=np.int32)],
    ids=["0-d", "empty", "no-columns"],
)
def test_scalars_and_empty_arrays_round_trip(vectors: VectorCache, array: np.ndarray[Any, Any]) -> None:
    vectors.set("edge", array)
    back = vectors.get("edge")
    assert back is not None
    assert (back.shape, back.dtype) == (array.shape, array.dtype)


def test_big_endian_and_non_contiguous_arrays_are_stored_as_values(cache: RedisCache) -> None:
    big_endian = np.arange(6, dtype=">f4").reshape(2, 3)
    cache.vectors.set("be", big_endian)
    np.testing.assert_array_equal(cache.vectors.get("be"), big_endian)
    strided = np.arange(100, dtype=np.float32).reshape(10, 10)[::2, ::3]
    assert not strided.flags.c_contiguous
    cache.vectors.set("strided", strided)
    np.testing.assert_array_equal(cache.vectors.get("strided"), strided)
    typed = VectorCache(cache.space, dimension=3, dtype=np.float32)
    typed.set("be-typed", big_endian)  # >f4 is a float32: byte order is not a different dtype
    np.testing.assert_array_equal(typed.get("be-typed"), big_endian)


def test_ttl_is_set_and_expires_the_vector(vectors: VectorCache) -> None:
    vectors.set("long", np.ones(4, dtype=np.float32), ttl=120)
    left = vectors.ttl("long")
    assert left is not None
    assert 60 < left <= 120
    vectors.set("short", np.ones(4, dtype=np.float32), ttl=1)
    eventually(lambda: vectors.get("short") is None, "the 1 s vector to expire")
    assert vectors.ttl("short") is None
    vectors.set("forever", np.ones(4, dtype=np.float32))
    assert vectors.ttl("forever") is None
    assert vectors.get("forever") is not None


def test_default_ttl_applies_unless_overridden(make_cache: Callable[..., RedisCache]) -> None:
    cache = make_cache(default_ttl=300)
    cache.vectors.set("d", np.ones(2))
    cache.vectors.set("o", np.ones(2), ttl=30)
    d, o = cache.vectors.ttl("d"), cache.vectors.ttl("o")
    assert d is not None
    assert o is not None
    assert 200 < d <= 300
    assert 0 < o <= 30


@pytest.mark.parametrize("ttl", [0, -1, -0.5, float("nan"), float("inf")])
def test_zero_negative_or_nan_ttl_is_refused_and_nothing_is_written(cache: RedisCache, ttl: float) -> None:
    cache.vectors.set("x", np.zeros(2))
    with pytest.raises(InvalidInputError, match="ttl"):
        cache.vectors.set("x", np.ones(2), ttl=ttl)
    with pytest.raises(InvalidInputError, match="ttl"):
        cache.vectors.set_many({"y": np.ones(2)}, ttl=ttl)
    with pytest.raises(InvalidInputError, match="ttl"):
        cache.kv.set("x", "v", ttl=ttl)
    np.testing.assert_array_equal(cache.vectors.get("x"), np.zeros(2), "the old value was not touched")
    assert cache.vectors.get("y") is None
    assert cache.kv.get("x") is None


def test_batches_use_one_round_trip_and_report_missing_keys(cache: RedisCache) -> None:
    arrays = {f"k{i}": np.full(8, i, dtype=np.float32) for i in range(500)}
    assert cache.vectors.set_many(arrays, ttl=60) == 500
    got = cache.vectors.get_many([*arrays, "absent"])
    assert got["absent"] is None
    for key, array in arrays.items():
        np.testing.assert_array_equal(got[key], array)
    assert cache.vectors.delete("k0", "k1", "nope") == 2
    assert cache.vectors.get_many([]) == {}
    assert cache.vectors.set_many({}) == 0
    assert cache.vectors.delete() == 0


def test_typed_cache_refuses_wrong_dtype_and_dimension(cache: RedisCache) -> None:
    typed = VectorCache(cache.space, dimension=4, dtype=np.float32)
    typed.set("ok", np.zeros(4, dtype=np.float32))
    typed.set("batch", np.zeros((10, 4), dtype=np.float32))  # rows of the right dimension
    with pytest.raises(InvalidInputError, match=r"dtype float64, this cache holds float32.*astype"):
        typed.set("bad", np.zeros(4, dtype=np.float64))
    with pytest.raises(DimensionMismatchError, match="expected 4, got 5") as info:
        typed.set("bad", np.zeros(5, dtype=np.float32))
    assert (info.value.expected, info.value.got) == (4, 5)
    with pytest.raises(DimensionMismatchError, match="expected 4, got 0"):
        typed.set("bad", np.array(1.0, dtype=np.float32))
    with pytest.raises(InvalidInputError, match="must be a NumPy array"):
        typed.set("bad", [0.0, 0.0, 0.0, 0.0])
    with pytest.raises(InvalidInputError, match="cannot be cached"):
        cache.vectors.set("bad", np.array(["a", "b"], dtype=object))
    with pytest.raises(InvalidInputError, match="non-empty"):
        cache.vectors.set("", np.zeros(4))
    with pytest.raises(DimensionMismatchError):
        typed.set_many({"fine": np.zeros(4, dtype=np.float32), "bad": np.zeros(3, dtype=np.float32)})
    assert typed.get("bad") is None
    assert typed.get("fine") is None, "a batch with one bad array writes nothing"
    np.testing.assert_array_equal(typed.get("ok"), np.zeros(4, dtype=np.float32))


@pytest.mark.parametrize(
    ("options", "word"),
    [
        ({"dimension": 0}, "dimension"),
        ({"dimension": 2.5}, "dimension"),
        ({"dtype": object}, "cannot be cached"),
        ({"dtype": "not-a-dtype"}, "dtype"),
        ({"max_value_bytes": 0}, "max_value_bytes"),
        ({"max_value_bytes": 1024**3}, "max_value_bytes"),
        ({"default_ttl": 0}, "ttl"),
    ],
)
def test_bad_cache_settings_are_refused(cache: RedisCache, options: dict[str, Any], word: str) -> None:
    with pytest.raises(InvalidInputError, match=word):
        VectorCache(cache.space, **options)


def test_oversized_values_are_refused_and_nothing_is_stored(make_cache: Callable[..., RedisCache]) -> None:
    small = make_cache(max_value_bytes=1024)
    small.vectors.set("fits", np.zeros(256, dtype=np.float32))  # exactly 1,024 bytes
    with pytest.raises(ValueTooLargeError, match="4,096 bytes, over the limit of 1,024 bytes") as info:
        small.vectors.set("big", np.zeros(1024, dtype=np.float32))
    assert (info.value.size, info.value.limit) == (4096, 1024)
    assert small.vectors.get("big") is None
    with pytest.raises(ValueTooLargeError):
        small.vectors.set_many({"a": np.zeros(4), "b": np.zeros(1000)})
    assert small.vectors.get("a") is None
    with pytest.raises(ValueTooLargeError, match="1,025 bytes"):
        small.kv.set("big", "x" * 1025)
    assert not small.kv.exists("big")
    assert small.kv.set("fits", b"x" * 1024)


def test_a_damaged_value_gives_a_clear_error(cache: RedisCache) -> None:
    cache.client.set(cache.space.key("vec", "junk"), b"not an array")
    with pytest.raises(CorruptValueError, match=r"'junk' cannot be read: .*no VSA header.*delete it") as info:
        cache.vectors.get("junk")
    assert isinstance(info.value.__cause__, CorruptValueError)
    good = cache.vectors._encode("x", np.ones(4, dtype=np.float32))
    cache.client.set(cache.space.key("vec", "cut"), good[:-3])
    with pytest.raises(CorruptValueError, match="damaged"):
        cache.vectors.get("cut")
    with pytest.raises(CorruptValueError, match="'cut'"):
        cache.vectors.get_many(["x", "cut"])
    assert cache.vectors.delete("junk", "cut") == 2, "a damaged value can still be removed"


def test_plain_key_values(kv: KeyValueStore) -> None:
    assert kv.set("greeting", "hello")
    assert kv.get_text("greeting") == "hello"
    assert kv.set("blob", b"\x00\xff")
    assert kv.get("blob") == b"\x00\xff"
    assert kv.set("unicode", "naïve ✓")
    assert kv.get_text("unicode") == "naïve ✓"
    assert not kv.set("greeting", "again", only_if_absent=True)
    assert kv.get_text("greeting") == "hello"
    assert kv.set("new", "v", only_if_absent=True)
    assert kv.delete("greeting", "blob", "never-there") == 2
    assert not kv.exists("greeting")
    assert kv.get("greeting") is None
    assert kv.get_text("greeting") is None


def test_plain_values_expire(kv: KeyValueStore) -> None:
    kv.set("brief", "x", ttl=0.3)
    kv.set("kept", "y", ttl=120)
    ttl = kv.ttl("kept")
    assert ttl is not None
    assert 60 < ttl <= 120
    eventually(lambda: not kv.exists("brief"), "the 0.3 s value to expire")
    assert kv.get_text("kept") == "y"


def test_bad_plain_values(kv: KeyValueStore) -> None:
    with pytest.raises(InvalidInputError, match="bytes or str"):
        kv.set("n", 5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="non-empty"):
        kv.get("")
    with pytest.raises(InvalidInputError, match="non-empty"):
        kv.set("", "v")
    kv.set("binary", b"\xff\xfe")
    with pytest.raises(CorruptValueError, match="not UTF-8 text; read it as bytes"):
        kv.get_text("binary")
    assert kv.get("binary") == b"\xff\xfe"
