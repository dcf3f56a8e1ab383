"""Vectors and plain values in Redis, under one namespace so a test (or a tenant) never touches another's."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

import redis
from vectorstack.arrays import ALLOWED_KINDS, check_finite, decode_array, decode_arrays, encode_array
from vectorstack.cache.connection import (
    check_count,
    check_flag,
    check_key,
    check_keys,
    check_ttl,
    queue_set,
    translated,
)
from vectorstack.config import RedisConfig
from vectorstack.errors import (
    BatchWriteError,
    CorruptValueError,
    DimensionMismatchError,
    FailedBatch,
    InvalidInputError,
    ValueTooLargeError,
)

DEFAULT_MAX_VALUE_BYTES = 64 * 1024 * 1024  # Redis itself stops at 512 MB; far below that is sane
REDIS_MAX_VALUE_BYTES = 512 * 1024 * 1024
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def raw(value: bytes | str) -> bytes:
    """The client never decodes responses; a str only appears from a client built otherwise."""
    return value if isinstance(value, bytes) else value.encode()


def check_max_bytes(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= REDIS_MAX_VALUE_BYTES:
        raise InvalidInputError(
            f"max_value_bytes must be 1 to {REDIS_MAX_VALUE_BYTES:,} (Redis' own limit), got {limit!r}"
        )
    return limit


class Namespace:
    """Prefixes every key; `clear()` removes exactly this namespace's keys (SCAN + UNLINK, never FLUSHDB).

    A namespace owns everything under its prefix, including namespaces nested below it ("app" clears
    "app:tenant1" too), so give independent users sibling prefixes.
    """

    def __init__(self, client: redis.Redis, config: RedisConfig, prefix: str) -> None:
        if not isinstance(prefix, str) or not prefix.strip(":"):
            raise InvalidInputError("a namespace prefix is required, e.g. 'myapp' or a test's unique name")
        self.client = client
        self.config = config
        self.prefix = prefix.rstrip(":") + ":"

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(check_key(p) for p in parts)

    def pattern(self) -> str:
        """A SCAN pattern matching this namespace's keys only (glob characters in the prefix escaped)."""
        return _GLOB_SPECIAL.sub(r"\\\1", self.prefix) + "*"

    def clear(self) -> int:
        removed = 0
        with translated(self.config):
            batch: list[bytes] = []
            for key in self.client.scan_iter(match=self.pattern(), count=500):
                batch.append(key)
                if len(batch) >= 500:
                    removed += int(self.client.unlink(*batch))
                    batch.clear()
            if batch:
                removed += int(self.client.unlink(*batch))
        return removed


class VectorCache:
    """NumPy arrays by key, with dtype and shape kept, optional TTL, and one round trip for batches.

    With `dimension` and/or `dtype` set, arrays that do not fit are refused before anything is sent, so a
    bug upstream (another embedding model, float64 by accident) cannot fill the cache with unusable vectors.
    """

    def __init__(
        self,
        space: Namespace,
        *,
        dimension: int | None = None,
        dtype: npt.DTypeLike | None = None,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        default_ttl: float | None = None,
    ) -> None:
        self.space = space
        self.dimension = None if dimension is None else check_count(dimension, "dimension")
        try:
            self.dtype = np.dtype(dtype) if dtype is not None else None
        except TypeError as exc:
            raise InvalidInputError(f"dtype {dtype!r} is not a NumPy dtype") from exc
        if self.dtype is not None and self.dtype.kind not in ALLOWED_KINDS:
            raise InvalidInputError(f"dtype {self.dtype} cannot be cached; use a numeric dtype (float32, int64, ...)")
        self.max_value_bytes = check_max_bytes(max_value_bytes)
        self.default_ttl_ms = check_ttl(default_ttl)
        self._native_dtype = None if self.dtype is None else self.dtype.newbyteorder("=")
        self._prefix = space.prefix + "vec:"

    def _key(self, key: str) -> str:
        return self._prefix + check_key(key)

    def _misfit(self, key: str, array: npt.NDArray[Any], *, stored: bool = False) -> InvalidInputError | None:
        """Why `array` does not fit this cache's declared dtype and dimension (None when it fits); `stored`
        leaves out the advice meant for a caller about to write it."""
        # Byte order is storage detail (the encoding is little-endian anyway): >f4 is a float32.
        native = self._native_dtype
        if native is not None and array.dtype != native and array.dtype.newbyteorder("=") != native:
            advice = "" if stored else f"; convert it with .astype({native.name!r}) if that is intended"
            return InvalidInputError(
                f"value for {key!r} has dtype {array.dtype}, this cache holds {self.dtype}{advice}"
            )
        if self.dimension is not None and (array.ndim == 0 or array.shape[-1] != self.dimension):
            return DimensionMismatchError(self.dimension, array.shape[-1] if array.ndim else 0, f"value for {key!r}")
        return None

    def _encode(self, key: str, array: Any) -> bytes:
        check_key(key)
        if not isinstance(array, np.ndarray):
            raise InvalidInputError(f"value for {key!r} must be a NumPy array, got {type(array).__name__}")
        misfit = self._misfit(key, array)
        if misfit is not None:
            raise misfit
        check_finite(array, f"value for {key!r}")
        if array.nbytes > self.max_value_bytes:
            raise ValueTooLargeError(f"array for {key!r}", array.nbytes, self.max_value_bytes)
        return encode_array(array)

    def _checked_read(self, key: str, array: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """A stored array that does not fit the cache (written by other code, an older release, or another
        model) is reported naming its key, never handed back as if it were one of this cache's vectors."""
        try:
            misfit = self._misfit(key, array, stored=True)
            if misfit is not None:
                raise misfit
            check_finite(array, f"value for {key!r}")
        except InvalidInputError as exc:
            raise CorruptValueError(
                f"cached vector {key!r} does not fit this cache ({exc}): it was written by something else; "
                "delete it (VectorCache.delete) and store it again"
            ) from exc
        return array

    def _decode(self, key: str, blob: bytes | str) -> npt.NDArray[Any]:
        try:
            array = decode_array(raw(blob))
        except CorruptValueError as exc:
            raise CorruptValueError(
                f"cached vector {key!r} cannot be read: {exc}; delete it (VectorCache.delete) and store it again"
            ) from exc
        return self._checked_read(key, array)

    def _ttl(self, ttl: float | None) -> int | None:
        return check_ttl(ttl) if ttl is not None else self.default_ttl_ms

    def set(self, key: str, array: Any, *, ttl: float | None = None) -> None:
        blob = self._encode(key, array)
        with translated(self.space.config):
            self.space.client.set(self._key(key), blob, px=self._ttl(ttl))

    def get(self, key: str) -> npt.NDArray[Any] | None:
        with translated(self.space.config):
            blob = self.space.client.get(self._key(key))
        return None if blob is None else self._decode(key, blob)

    def set_many(self, arrays: Mapping[str, Any], *, ttl: float | None = None) -> int:
        """Every array is checked before any is sent (one bad array writes nothing), then all go in one
        round trip. Should the server refuse some writes, BatchWriteError names exactly those keys."""
        px = self._ttl(ttl)
        if not isinstance(arrays, Mapping):
            raise InvalidInputError(f"set_many takes a mapping of key to array, got {type(arrays).__name__}")
        blobs = {key: self._encode(key, array) for key, array in arrays.items()}
        if not blobs:
            return 0
        with translated(self.space.config):
            pipe = self.space.client.pipeline(transaction=False)
            queue_set(pipe, ((self._key(key), blob) for key, blob in blobs.items()), px)
            replies = pipe.execute(raise_on_error=False)
        failed = [
            (i, key, reply)
            for i, (key, reply) in enumerate(zip(blobs, replies, strict=True))
            if isinstance(reply, Exception)
        ]
        if failed:
            error = BatchWriteError(
                "VectorCache.set_many",
                len(blobs) - len(failed),
                [FailedBatch(i, i, f"{key!r}: {reply}") for i, key, reply in failed],
                failed_keys=[key for _, key, _ in failed],
            )
            raise error from failed[0][2]
        return len(blobs)

    def get_many(self, keys: Iterable[str]) -> dict[str, npt.NDArray[Any] | None]:
        """One MGET: missing (or expired) keys map to None."""
        wanted = check_keys(keys)
        if not wanted:
            return {}
        with translated(self.space.config):
            blobs = self.space.client.mget([self._key(k) for k in wanted])
        found = {k: raw(b) for k, b in zip(wanted, blobs, strict=True) if b is not None}
        try:
            arrays = dict(zip(found, decode_arrays(list(found.values())), strict=True))
        except CorruptValueError:
            for key, blob in found.items():  # find the damaged one and name it
                self._decode(key, blob)
            raise
        for key, array in arrays.items():
            self._checked_read(key, array)
        return {k: arrays.get(k) for k in wanted}

    def delete(self, *keys: str) -> int:
        if not keys:
            return 0
        with translated(self.space.config):
            return int(self.space.client.delete(*(self._key(k) for k in keys)))

    def ttl(self, key: str) -> float | None:
        """Seconds left; None when the key has no expiry or does not exist."""
        with translated(self.space.config):
            left = int(self.space.client.pttl(self._key(key)))
        return left / 1000 if left >= 0 else None


class KeyValueStore:
    """Plain GET/SET/DEL of bytes or text, with TTL and the same size limit as the vector cache."""

    def __init__(self, space: Namespace, *, max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES) -> None:
        self.space = space
        self.max_value_bytes = check_max_bytes(max_value_bytes)

    def set(self, key: str, value: bytes | str, *, ttl: float | None = None, only_if_absent: bool = False) -> bool:
        """False only when `only_if_absent` is set and the key exists (nothing was written)."""
        check_key(key)
        check_flag(only_if_absent, "only_if_absent")
        if not isinstance(value, bytes | str):
            raise InvalidInputError(f"value for {key!r} must be bytes or str, got {type(value).__name__}")
        data = value.encode() if isinstance(value, str) else value
        if len(data) > self.max_value_bytes:
            raise ValueTooLargeError(f"value for {key!r}", len(data), self.max_value_bytes)
        px = check_ttl(ttl)
        with translated(self.space.config):
            return bool(self.space.client.set(self.space.key("kv", key), data, px=px, nx=only_if_absent))

    def get(self, key: str) -> bytes | None:
        with translated(self.space.config):
            value = self.space.client.get(self.space.key("kv", key))
        return None if value is None else raw(value)

    def get_text(self, key: str) -> str | None:
        value = self.get(key)
        if value is None:
            return None
        try:
            return value.decode()
        except UnicodeDecodeError as exc:
            raise CorruptValueError(f"value of {key!r} is not UTF-8 text; read it as bytes with get()") from exc

    def delete(self, *keys: str) -> int:
        if not keys:
            return 0
        with translated(self.space.config):
            return int(self.space.client.delete(*(self.space.key("kv", k) for k in keys)))

    def exists(self, key: str) -> bool:
        with translated(self.space.config):
            return bool(self.space.client.exists(self.space.key("kv", key)))

    def ttl(self, key: str) -> float | None:
        """Seconds left; None when the key has no expiry or does not exist."""
        with translated(self.space.config):
            left = int(self.space.client.pttl(self.space.key("kv", key)))
        return left / 1000 if left >= 0 else None
