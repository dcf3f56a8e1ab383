"""Pub/sub events (fire and forget) and streams with consumer groups (durable, acknowledged)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from vectorstack.cache.connection import check_key, translated
from vectorstack.cache.values import Namespace
from vectorstack.errors import InvalidInputError


@dataclass(frozen=True)
class Event:
    channel: str
    data: Any


class Subscription:
    """Messages of the subscribed channels, read with a timeout; close it (or use `with`) when done."""

    def __init__(self, events: EventBus, channels: tuple[str, ...]) -> None:
        self._events = events
        self._pubsub = events.space.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        with translated(events.space.config):
            self._pubsub.subscribe(*(events.channel(c) for c in channels))

    def get(self, timeout: float = 1.0) -> Event | None:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            with translated(self._events.space.config):
                message = self._pubsub.get_message(timeout=max(left, 0.0))
            if message and message["type"] == "message":
                channel = message["channel"].decode().removeprefix(self._events.space.prefix + "events:")
                return Event(channel, json.loads(message["data"]))
            if left <= 0:
                return None

    def close(self) -> None:
        self._pubsub.close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    def __init__(self, space: Namespace) -> None:
        self.space = space

    def channel(self, name: str) -> str:
        return self.space.key("events", name)

    def publish(self, channel: str, data: Any) -> int:
        """Send a JSON-serialisable payload; returns how many subscribers received it."""
        try:
            payload = json.dumps(data)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"event payload for {channel!r} is not JSON-serialisable: {exc}") from exc
        with translated(self.space.config):
            return int(self.space.client.publish(self.channel(channel), payload))

    def subscribe(self, *channels: str) -> Subscription:
        if not channels:
            raise InvalidInputError("subscribe to at least one channel")
        return Subscription(self, channels)


Fields = Mapping[str, str | bytes | int | float]


@dataclass(frozen=True)
class StreamEntry:
    id: str
    fields: dict[str, str]


class StreamQueue:
    """A Redis stream read by consumer groups: each entry goes to one consumer and stays pending until acked."""

    def __init__(self, space: Namespace, stream: str, *, maxlen: int | None = None) -> None:
        self.space = space
        self.key = space.key("stream", stream)
        self.maxlen = maxlen

    def add(self, fields: Fields) -> str:
        if not fields:
            raise InvalidInputError("a stream entry needs at least one field")
        with translated(self.space.config):
            entry: dict[Any, Any] = dict(fields)
            entry_id = self.space.client.xadd(self.key, entry, maxlen=self.maxlen, approximate=False)
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    def ensure_group(self, group: str, *, from_start: bool = True) -> bool:
        """Create the group (and stream) if missing; True when it was created now."""
        try:
            with translated(self.space.config):
                self.space.client.xgroup_create(
                    self.key, check_key(group), id="0" if from_start else "$", mkstream=True
                )
        except InvalidInputError as exc:
            if isinstance(exc.__cause__, ResponseError) and "BUSYGROUP" in str(exc.__cause__):
                return False
            raise
        return True

    def read(self, group: str, consumer: str, *, count: int = 10, block: float | None = None) -> list[StreamEntry]:
        """New entries for this consumer; `block` seconds to wait when there are none."""
        with translated(self.space.config):
            answer: Any = self.space.client.xreadgroup(
                group, consumer, {self.key: ">"}, count=count, block=int(block * 1000) if block else None
            )
        return self._entries(answer[0][1] if answer else [])

    def ack(self, group: str, *ids: str) -> int:
        if not ids:
            return 0
        with translated(self.space.config):
            return int(self.space.client.xack(self.key, group, *ids))

    def pending(self, group: str) -> int:
        with translated(self.space.config):
            return int(self.space.client.xpending(self.key, group)["pending"])

    def claim_stale(self, group: str, consumer: str, *, min_idle: float, count: int = 10) -> list[StreamEntry]:
        """Take over entries another consumer read but did not ack for `min_idle` seconds (it likely died)."""
        with translated(self.space.config):
            answer = self.space.client.xautoclaim(self.key, group, consumer, int(min_idle * 1000), count=count)
        return self._entries(answer[1])

    def length(self) -> int:
        with translated(self.space.config):
            return int(self.space.client.xlen(self.key))

    @staticmethod
    def _entries(raw: list[Any]) -> list[StreamEntry]:
        entries = []
        for entry_id, fields in raw:
            decoded = {k.decode(): v.decode() for k, v in fields.items()}
            entries.append(StreamEntry(entry_id.decode(), decoded))
        return entries
