"""The array encoding and the Redis settings, without a server."""

from __future__ import annotations

import numpy as np
import pytest

from vectorstack.arrays import decode_array, encode_array
from vectorstack.cache.connection import check_ttl
from vectorstack.config import RedisConfig
from vectorstack.errors import CorruptValueError, InvalidInputError


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype=np.float32).reshape(3, 4),
        np.array(3.5, dtype=np.float64),
        np.zeros((0, 8), dtype=np.int16),
        np.array([True, False]),
        np.arange(10, dtype=">i8"),
    ],
    ids=["matrix", "scalar", "empty", "bool", "big-endian"],
)
def test_round_trip(array: np.ndarray) -> None:
    back = decode_array(encode_array(array))
    assert back.shape == array.shape
    assert back.dtype == array.dtype.newbyteorder("=")
    np.testing.assert_array_equal(back, array)


def test_encoding_is_compact() -> None:
    array = np.zeros((100, 128), dtype=np.float32)
    assert len(encode_array(array)) - array.nbytes < 64


def test_refused_and_damaged_inputs() -> None:
    with pytest.raises(InvalidInputError, match="NumPy array"):
        encode_array([1, 2])
    with pytest.raises(InvalidInputError, match="cannot be cached"):
        encode_array(np.array(["x"]))
    blob = encode_array(np.ones(4, dtype=np.float32))
    with pytest.raises(CorruptValueError, match="newer"):
        decode_array(blob[:3] + bytes([9]) + blob[4:])
    with pytest.raises(CorruptValueError):
        decode_array(blob[:8])


def test_ttl_rules() -> None:
    assert check_ttl(None) is None
    assert check_ttl(1.5) == 1500
    assert check_ttl(0.0001) == 1
    for bad in (0, -3, True, "5"):
        with pytest.raises(InvalidInputError):
            check_ttl(bad)  # type: ignore[arg-type]


def test_redis_config_from_variables() -> None:
    plain = RedisConfig.from_env({"REDIS_HOST": "cache.internal", "REDIS_PORT": "6380", "REDIS_PASSWORD": "s3cret"})
    assert (plain.host, plain.port, plain.password, plain.tls) == ("cache.internal", 6380, "s3cret", False)
    assert "s3cret" not in repr(plain)
    url = RedisConfig.from_env({"REDIS_URL": "rediss://user:p%40ss@h:7000/2"})
    assert (url.host, url.port, url.username, url.password, url.db, url.tls) == ("h", 7000, "user", "p@ss", 2, True)
    with pytest.raises(InvalidInputError, match="REDIS_PORT"):
        RedisConfig.from_env({"REDIS_PORT": "abc"})
    with pytest.raises(InvalidInputError, match="redis:// or rediss://"):
        RedisConfig.from_env({"REDIS_URL": "http://h"})
    with pytest.raises(InvalidInputError, match="REDIS_TLS"):
        RedisConfig.from_env({"REDIS_TLS": "maybe"})
