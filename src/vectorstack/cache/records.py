"""Sessions with expiry, and metrics (counters, gauges, time series) kept in Redis."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Mapping
from typing import Any

from vectorstack.cache.connection import check_key, check_ttl, translated
from vectorstack.cache.values import Namespace
from vectorstack.errors import InvalidInputError


class SessionStore:
    """JSON session data under random ids, expiring after `ttl` seconds of inactivity."""

    def __init__(self, space: Namespace, *, ttl: float = 1800.0) -> None:
        self.space = space
        self.ttl_ms = check_ttl(ttl)

    def _key(self, session_id: str) -> str:
        return self.space.key("session", session_id)

    def _dump(self, data: Mapping[str, Any]) -> str:
        if not isinstance(data, Mapping):
            raise InvalidInputError(f"session data must be a mapping, got {type(data).__name__}")
        try:
            return json.dumps(dict(data))
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"session data is not JSON-serialisable: {exc}") from exc

    def create(self, data: Mapping[str, Any], *, ttl: float | None = None) -> str:
        session_id = secrets.token_urlsafe(24)
        with translated(self.space.config):
            self.space.client.set(self._key(session_id), self._dump(data), px=check_ttl(ttl) or self.ttl_ms)
        return session_id

    def get(self, session_id: str) -> dict[str, Any] | None:
        with translated(self.space.config):
            raw = self.space.client.get(self._key(session_id))
        return None if raw is None else dict(json.loads(raw))

    def update(self, session_id: str, data: Mapping[str, Any]) -> bool:
        """Replace the data and restart the expiry; False when the session has already expired."""
        with translated(self.space.config):
            return bool(self.space.client.set(self._key(session_id), self._dump(data), px=self.ttl_ms, xx=True))

    def touch(self, session_id: str, *, ttl: float | None = None) -> bool:
        with translated(self.space.config):
            return bool(self.space.client.pexpire(self._key(session_id), check_ttl(ttl) or self.ttl_ms or 1))

    def destroy(self, session_id: str) -> bool:
        with translated(self.space.config):
            return bool(self.space.client.delete(self._key(session_id)))


def _series_name(name: str, labels: Mapping[str, str] | None) -> str:
    check_key(name)
    if not labels:
        return name
    return name + "{" + ",".join(f"{k}={labels[k]}" for k in sorted(labels)) + "}"


class MetricsStore:
    """Counters and gauges in hashes; samples in a sorted set per series, trimmed by age."""

    def __init__(self, space: Namespace, *, retention: float = 3600.0) -> None:
        self.space = space
        self.retention = retention

    def incr(self, name: str, amount: float = 1.0, labels: Mapping[str, str] | None = None) -> float:
        with translated(self.space.config):
            return float(
                self.space.client.hincrbyfloat(
                    self.space.key("metrics", "counters"), _series_name(name, labels), amount
                )
            )

    def counter(self, name: str, labels: Mapping[str, str] | None = None) -> float:
        with translated(self.space.config):
            value = self.space.client.hget(self.space.key("metrics", "counters"), _series_name(name, labels))
        return float(value) if value is not None else 0.0

    def set_gauge(self, name: str, value: float, labels: Mapping[str, str] | None = None) -> None:
        with translated(self.space.config):
            self.space.client.hset(self.space.key("metrics", "gauges"), _series_name(name, labels), repr(float(value)))

    def gauge(self, name: str, labels: Mapping[str, str] | None = None) -> float | None:
        with translated(self.space.config):
            value = self.space.client.hget(self.space.key("metrics", "gauges"), _series_name(name, labels))
        return float(value) if value is not None else None

    def record(
        self, name: str, value: float, *, at: float | None = None, labels: Mapping[str, str] | None = None
    ) -> None:
        """Add a sample and drop samples older than the retention, in one round trip."""
        when = time.time() if at is None else at
        key = self.space.key("metrics", "series", _series_name(name, labels))
        with translated(self.space.config):
            pipe = self.space.client.pipeline(transaction=True)
            pipe.zadd(key, {f"{when!r}|{float(value)!r}|{uuid.uuid4().hex[:8]}": when})
            pipe.zremrangebyscore(key, "-inf", when - self.retention)
            pipe.execute()

    def series(
        self,
        name: str,
        *,
        since: float = float("-inf"),
        until: float = float("inf"),
        labels: Mapping[str, str] | None = None,
    ) -> list[tuple[float, float]]:
        key = self.space.key("metrics", "series", _series_name(name, labels))
        with translated(self.space.config):
            members = self.space.client.zrangebyscore(key, since, until)
        samples = []
        for member in members:
            text = member.decode() if isinstance(member, bytes) else str(member)
            when, value, _ = text.split("|")
            samples.append((float(when), float(value)))
        return samples
