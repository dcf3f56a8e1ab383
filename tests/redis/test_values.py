"""Vector cache and plain key/value storage, including every kind of bad input."""

from __future__ import annotations

import numpy as np
import pytest

from vectorstack.cache import RedisCache, VectorCache
from vectorstack.errors import CorruptValueError, DimensionMismatchError, InvalidInputError, ValueTooLargeError

from .conftest import eventually

pytestmark = [pytest.mark.integration, pytest.mark.redis]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int8", "uint8", "int64", "bool"])
def test_arrays_round_trip_with_dtype_and_shape(cache: RedisCache, dtype: str) -> None:
    array = (np.arange(24).reshape(2, 3, 4) % 7).astype(dtype)
    cache.vectors.set("a", array)
    back = cache.vectors.get("a")
    assert back is not None
    assert back.dtype == array.dtype
    assert back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)
    back[0, 0, 0] = 1  # a decoded array is the caller's to change
    assert cache.vectors.get("missing") is None


def test_big_endian_and_non_contiguous_arrays_are_stored_as_values(cache: RedisCache) -> None:
    big_endian = np.arange(6, dtype=">f4").reshape(2, 3)
    cache.vectors.set("be", big_endian)
    np.testing.assert_array_equal(cache.vectors.get("be"), big_endian)
    strided = np.arange(100, dtype=np.float32).reshape(10, 10)[::2, ::3]
    cache.vectors.set("strided", strided)
    np.testing.assert_array_equal(cache.vectors.get("strided"), strided)


def test_ttl_expires_the_vector(cache: RedisCache) -> None:
    cache.vectors.set("short", np.ones(4, dtype=np.float32), ttl=0.5)
    left = cache.vectors.ttl("short")
    assert left is not None
    assert 0 < left <= 0.5
    assert eventually(lambda: cache.vectors.get("short") is None)
    cache.vectors.set("forever", np.ones(4, dtype=np.float32))
    assert cache.vectors.ttl("forever") is None


@pytest.mark.parametrize("ttl", [0, -1, -0.5, float("nan")])
def test_zero_negative_or_nan_ttl_is_refused(cache: RedisCache, ttl: float) -> None:
    with pytest.raises(InvalidInputError, match="ttl"):
        cache.vectors.set("x", np.ones(2), ttl=ttl)
    with pytest.raises(InvalidInputError, match="ttl"):
        cache.kv.set("x", "v", ttl=ttl)
    assert cache.vectors.get("x") is None


def test_batches_use_one_round_trip_and_report_missing_keys(cache: RedisCache) -> None:
    arrays = {f"k{i}": np.full(8, i, dtype=np.float32) for i in range(500)}
    assert cache.vectors.set_many(arrays, ttl=60) == 500
    got = cache.vectors.get_many([*arrays, "absent"])
    assert got["absent"] is None
    for key, array in arrays.items():
        np.testing.assert_array_equal(got[key], array)
    assert cache.vectors.delete("k0", "k1", "nope") == 2


def test_typed_cache_refuses_wrong_dtype_and_dimension(cache: RedisCache) -> None:
    typed = VectorCache(cache.space, dimension=4, dtype=np.float32)
    typed.set("ok", np.zeros(4, dtype=np.float32))
    with pytest.raises(InvalidInputError, match="dtype float64, this cache holds float32"):
        typed.set("bad", np.zeros(4, dtype=np.float64))
    with pytest.raises(DimensionMismatchError, match="expected 4, got 5"):
        typed.set("bad", np.zeros(5, dtype=np.float32))
    with pytest.raises(InvalidInputError, match="must be a NumPy array"):
        typed.set("bad", [0.0, 0.0, 0.0, 0.0])
    with pytest.raises(InvalidInputError, match="cannot be cached"):
        cache.vectors.set("bad", np.array(["a", "b"], dtype=object))
    with pytest.raises(DimensionMismatchError):
        typed.set_many({"fine": np.zeros(4, dtype=np.float32), "bad": np.zeros(3, dtype=np.float32)})
    assert typed.get("bad") is None
    assert typed.get("fine") is None, "a batch with one bad array writes nothing"


def test_oversized_values_are_refused_and_nothing_is_stored(cache: RedisCache) -> None:
    small = VectorCache(cache.space, max_value_bytes=1024)
    with pytest.raises(ValueTooLargeError, match="4,096 bytes, over the limit of 1,024 bytes"):
        small.set("big", np.zeros(1024, dtype=np.float32))
    assert small.get("big") is None
    cache.kv.max_value_bytes = 10
    with pytest.raises(ValueTooLargeError):
        cache.kv.set("big", "x" * 11)


def test_a_damaged_value_gives_a_clear_error(cache: RedisCache) -> None:
    cache.client.set(cache.space.key("vec", "junk"), b"not an array")
    with pytest.raises(CorruptValueError, match="no VSA header"):
        cache.vectors.get("junk")
    good = bytearray(cache.vectors._encode("x", np.ones(4, dtype=np.float32)))
    cache.client.set(cache.space.key("vec", "cut"), bytes(good[:-3]))
    with pytest.raises(CorruptValueError, match="damaged"):
        cache.vectors.get("cut")


def test_plain_key_values(cache: RedisCache) -> None:
    assert cache.kv.set("greeting", "hello")
    assert cache.kv.get_text("greeting") == "hello"
    assert cache.kv.set("blob", b"\x00\xff")
    assert cache.kv.get("blob") == b"\x00\xff"
    assert not cache.kv.set("greeting", "again", only_if_absent=True)
    assert cache.kv.get_text("greeting") == "hello"
    assert cache.kv.delete("greeting", "blob") == 2
    assert not cache.kv.exists("greeting")
    cache.kv.set("brief", "x", ttl=0.3)
    assert eventually(lambda: not cache.kv.exists("brief"))
    with pytest.raises(InvalidInputError, match="bytes or str"):
        cache.kv.set("n", 5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="non-empty"):
        cache.kv.get("")
