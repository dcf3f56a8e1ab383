"""Sessions with expiry, and metrics (counters, gauges, time series) kept in Redis."""

from __future__ import annotations

import json
import math
import re
import secrets
import time
import uuid
from collections.abc import Mapping
from typing import Any

from vectorstack.cache.connection import check_flag, check_key, check_number, check_seconds, check_ttl, translated
from vectorstack.cache.values import Namespace
from vectorstack.errors import CorruptValueError, InvalidInputError

# A session is a hash {data: JSON, ttl: ms}: keeping its own TTL lets update/touch extend it by the TTL it
# was created with, not by the store's default. Both scripts are atomic, so a session that expires
# between "does it exist" and "extend it" cannot be brought back with only part of its data.
_UPDATE = """
local ttl = redis.call('HGET', KEYS[1], 'ttl')
if not ttl then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
"""
_TOUCH = """
local ttl = redis.call('HGET', KEYS[1], 'ttl')
if not ttl then return 0 end
if ARGV[1] ~= '' then ttl = ARGV[1] end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
"""
_GET_AND_TOUCH = """
local found = redis.call('HMGET', KEYS[1], 'data', 'ttl')
if found[1] and found[2] then redis.call('PEXPIRE', KEYS[1], found[2]) end
return found[1]
"""


class SessionStore:
    """JSON session data under random, unguessable ids, expiring after `ttl` seconds unless updated or
    touched (pass touch=True to `get` for expiry after inactivity)."""

    def __init__(self, space: Namespace, *, ttl: float = 1800.0) -> None:
        if ttl is None:
            raise InvalidInputError("sessions need a ttl in seconds; abandoned sessions must expire")
        self.space = space
        self.ttl_ms: int = check_ttl(ttl) or 1
        self._update = space.client.register_script(_UPDATE)
        self._touch = space.client.register_script(_TOUCH)
        self._get_and_touch = space.client.register_script(_GET_AND_TOUCH)

    def _key(self, session_id: str) -> str:
        return self.space.key("session", session_id)

    def _dump(self, data: Mapping[str, Any]) -> str:
        if not isinstance(data, Mapping):
            raise InvalidInputError(f"session data must be a mapping, got {type(data).__name__}")
        try:
            return json.dumps(dict(data), allow_nan=False)  # NaN is not JSON: other languages' parsers refuse it
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"session data is not JSON-serialisable: {exc}") from exc

    def create(self, data: Mapping[str, Any], *, ttl: float | None = None) -> str:
        """A new session; returns its id. `ttl` (seconds) overrides the store's for this session."""
        payload = self._dump(data)
        ttl_ms = check_ttl(ttl) or self.ttl_ms
        session_id = secrets.token_urlsafe(24)
        key = self._key(session_id)
        with translated(self.space.config):
            pipe = self.space.client.pipeline(transaction=True)  # never a session without its expiry
            pipe.hset(key, mapping={"data": payload, "ttl": ttl_ms})
            pipe.pexpire(key, ttl_ms)
            pipe.execute()
        return session_id

    def get(self, session_id: str, *, touch: bool = False) -> dict[str, Any] | None:
        """The session's data, or None once it expired or was destroyed; `touch` also restarts its expiry."""
        key = self._key(session_id)
        check_flag(touch, "touch")
        with translated(self.space.config):
            raw = self._get_and_touch(keys=[key]) if touch else self.space.client.hget(key, "data")
        if raw is None:
            return None
        try:
            return dict(json.loads(raw))
        except (ValueError, TypeError) as exc:
            raise CorruptValueError(f"session {session_id[:6]}... holds data that is not a JSON object") from exc

    def update(self, session_id: str, data: Mapping[str, Any]) -> bool:
        """Replace the data and restart the expiry; False (and nothing written) when the session is gone."""
        check_key(session_id)
        payload = self._dump(data)
        with translated(self.space.config):
            return bool(self._update(keys=[self._key(session_id)], args=[payload]))

    def touch(self, session_id: str, *, ttl: float | None = None) -> bool:
        """Restart the expiry (by `ttl` seconds this time, else the session's own); False when it is gone."""
        ttl_ms = check_ttl(ttl)
        with translated(self.space.config):
            return bool(self._touch(keys=[self._key(session_id)], args=["" if ttl_ms is None else ttl_ms]))

    def ttl(self, session_id: str) -> float | None:
        """Seconds until the session expires; None when it is gone."""
        with translated(self.space.config):
            left = int(self.space.client.pttl(self._key(session_id)))
        return left / 1000 if left >= 0 else None

    def destroy(self, session_id: str) -> bool:
        with translated(self.space.config):
            return bool(self.space.client.delete(self._key(session_id)))


_METRIC_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*\Z")
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def series_name(name: str, labels: Mapping[str, str] | None) -> str:
    """`name{"k":"v",...}` with labels sorted: one series per label set, whatever the callers' order, and
    unambiguous for any label value (JSON escapes the quotes and commas a value may hold)."""
    if not isinstance(name, str) or not _METRIC_NAME.match(name):
        raise InvalidInputError(f"metric name {name!r} must match [A-Za-z_:][A-Za-z0-9_:]* (as in Prometheus)")
    if labels is not None and not isinstance(labels, Mapping):
        raise InvalidInputError(
            f"labels of {name!r} must be a mapping of label name to value, got {type(labels).__name__}"
        )
    if not labels:
        return name
    for label, value in labels.items():
        if not isinstance(label, str) or not _LABEL_NAME.match(label):
            raise InvalidInputError(f"label name {label!r} of {name!r} must match [A-Za-z_][A-Za-z0-9_]*")
        if not isinstance(value, str):
            raise InvalidInputError(f"label {label!r} of {name!r} must be a string, got {type(value).__name__}")
    return name + json.dumps(dict(sorted(labels.items())), separators=(",", ":"))


def _finite(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInputError(f"{what} must be a finite number, got {value!r}")
    return float(value)


class MetricsStore:
    """Counters and gauges in one hash each; samples in a sorted set per series, scored by time and trimmed
    to `retention` seconds on every write (an idle series expires as a whole after that long)."""

    def __init__(self, space: Namespace, *, retention: float = 3600.0) -> None:
        self.space = space
        self.retention = retention

    @property
    def retention(self) -> float:
        return self._retention

    @retention.setter
    def retention(self, seconds: float) -> None:
        self._retention = check_seconds(seconds, "retention", allow_zero=False)

    def incr(self, name: str, amount: float = 1.0, labels: Mapping[str, str] | None = None) -> float:
        """Add to a counter and return its new value. Counters only go up; use a gauge for values that fall."""
        field = series_name(name, labels)
        if _finite(amount, "counter increment") < 0:
            raise InvalidInputError(f"counter {name!r} cannot decrease (got {amount!r}); use set_gauge instead")
        with translated(self.space.config):
            return float(self.space.client.hincrbyfloat(self.space.key("metrics", "counters"), field, amount))

    def counter(self, name: str, labels: Mapping[str, str] | None = None) -> float:
        field = series_name(name, labels)
        with translated(self.space.config):
            value = self.space.client.hget(self.space.key("metrics", "counters"), field)
        return float(value) if value is not None else 0.0

    def set_gauge(self, name: str, value: float, labels: Mapping[str, str] | None = None) -> None:
        field = series_name(name, labels)
        number = _finite(value, "gauge value")
        with translated(self.space.config):
            self.space.client.hset(self.space.key("metrics", "gauges"), field, repr(number))

    def gauge(self, name: str, labels: Mapping[str, str] | None = None) -> float | None:
        field = series_name(name, labels)
        with translated(self.space.config):
            value = self.space.client.hget(self.space.key("metrics", "gauges"), field)
        return float(value) if value is not None else None

    def counters(self) -> dict[str, float]:
        """Every counter of this namespace, by series name."""
        return self._all("counters")

    def gauges(self) -> dict[str, float]:
        """Every gauge of this namespace, by series name."""
        return self._all("gauges")

    def _all(self, kind: str) -> dict[str, float]:
        with translated(self.space.config):
            found: dict[Any, Any] = self.space.client.hgetall(self.space.key("metrics", kind))
        return {bytes(k).decode(): float(v) for k, v in found.items()}

    def record(
        self, name: str, value: float, *, at: float | None = None, labels: Mapping[str, str] | None = None
    ) -> None:
        """Add a sample (at `at`, Unix seconds; default now) and drop samples past the retention, atomically
        and in one round trip."""
        key = self.space.key("metrics", "series", series_name(name, labels))
        when = time.time() if at is None else _finite(at, "sample time")
        number = _finite(value, f"sample of {name!r}")
        horizon = max(when, time.time()) - self.retention
        with translated(self.space.config):
            pipe = self.space.client.pipeline(transaction=True)
            pipe.zadd(key, {f"{when!r}|{number!r}|{uuid.uuid4().hex[:8]}": when})
            pipe.zremrangebyscore(key, "-inf", f"({horizon!r}")
            pipe.pexpire(key, max(1, math.ceil(self.retention * 1000)))
            pipe.execute()

    def series(
        self,
        name: str,
        *,
        since: float = float("-inf"),
        until: float = float("inf"),
        labels: Mapping[str, str] | None = None,
    ) -> list[tuple[float, float]]:
        """(time, value) samples with since <= time <= until, oldest first."""
        key = self.space.key("metrics", "series", series_name(name, labels))
        check_number(since, "since (Unix seconds)")
        check_number(until, "until (Unix seconds)")
        with translated(self.space.config):
            members = self.space.client.zrangebyscore(key, since, until)
        samples = []
        for member in members:
            text = member.decode() if isinstance(member, bytes) else str(member)
            try:
                when, value, _ = text.split("|")
                samples.append((float(when), float(value)))
            except ValueError as exc:
                raise CorruptValueError(f"series {name!r} holds a sample not written by MetricsStore") from exc
        return samples
