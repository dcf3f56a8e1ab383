"""Pub/sub events (fire and forget) and streams with consumer groups (durable, acknowledged)."""

from __future__ import annotations

import collections
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

from redis.exceptions import ResponseError

from vectorstack.cache.connection import (
    check_count,
    check_entry_id,
    check_flag,
    check_key,
    check_seconds,
    reply_code,
    translated,
)
from vectorstack.cache.values import Namespace
from vectorstack.errors import CorruptValueError, InvalidInputError, ServiceUnavailableError

_FIELD_TYPES = (str, bytes, int, float)  # what a stream field may hold (not bool: it is an int)


@dataclass(frozen=True)
class Event:
    channel: str
    data: Any


class Subscription:
    """Messages of the subscribed channels, read with a timeout or iterated; close it (or use `with`).

    Returns from the constructor only once the server has confirmed every channel, so any publish made
    after that reaches this subscriber and is counted by `EventBus.publish`. Not thread-safe: read and
    close it from one thread.
    """

    def __init__(self, events: EventBus, channels: tuple[str, ...], *, timeout: float) -> None:
        self._config = events.space.config
        self._prefix = events.space.prefix + "events:"
        self._early: collections.deque[dict[str, Any]] = collections.deque()
        self._closed = False
        names = {events.channel(c) for c in channels}
        self._pubsub = events.space.client.pubsub()  # type: ignore[no-untyped-call]
        try:
            with translated(self._config):
                self._pubsub.subscribe(*names)
                self._await_confirmations(len(names), timeout)
        except BaseException:
            self._pubsub.close()
            raise

    def _await_confirmations(self, expected: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        confirmed = 0
        while confirmed < expected:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ServiceUnavailableError(
                    "redis", self._config.address, timeout, "no SUBSCRIBE confirmation", "Is the server overloaded?"
                )
            message = self._pubsub.get_message(timeout=left)
            if message is None:
                continue
            if message["type"] == "subscribe":
                confirmed += 1
            elif message["type"] == "message":  # a message on a channel confirmed earlier: keep it
                self._early.append(message)

    def get(self, timeout: float = 1.0) -> Event | None:
        """The next event, or None when none arrives within `timeout` seconds."""
        check_seconds(timeout, "timeout")
        if self._closed:
            raise InvalidInputError("this subscription is closed; subscribe again to receive events")
        if self._early:
            return self._event(self._early.popleft())
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            with translated(self._config):
                message = self._pubsub.get_message(timeout=max(left, 0.0))
            if message and message["type"] == "message":
                return self._event(message)
            if left <= 0:
                return None

    def messages(self, *, idle_timeout: float | None = None) -> Iterator[Event]:
        """Events as they come; ends after `idle_timeout` seconds without one (None: until closed)."""
        while not self._closed:
            event = self.get(timeout=1.0 if idle_timeout is None else idle_timeout)
            if event is not None:
                yield event
            elif idle_timeout is not None:
                return

    def __iter__(self) -> Iterator[Event]:
        return self.messages()

    def _event(self, message: Mapping[str, Any]) -> Event:
        channel = message["channel"].decode().removeprefix(self._prefix)
        try:
            return Event(channel, json.loads(message["data"]))
        except (ValueError, UnicodeDecodeError) as exc:
            raise CorruptValueError(
                f"a message on channel {channel!r} is not JSON; was it published by something other than EventBus?"
            ) from exc

    def close(self) -> None:
        self._closed = True
        self._pubsub.close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    """JSON events on channels of this namespace: delivered to whoever is subscribed now, else lost (use a
    StreamQueue when every event must be processed)."""

    def __init__(self, space: Namespace) -> None:
        self.space = space

    def channel(self, name: str) -> str:
        return self.space.key("events", name)

    def publish(self, channel: str, data: Any) -> int:
        """Send a JSON-serialisable payload; returns how many subscribers received it."""
        name = self.channel(channel)
        try:
            payload = json.dumps(data, allow_nan=False)  # NaN is not JSON: other languages' parsers refuse it
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"event payload for {channel!r} is not JSON-serialisable: {exc}") from exc
        with translated(self.space.config):
            return int(self.space.client.publish(name, payload))

    def subscribe(self, *channels: str, timeout: float | None = None) -> Subscription:
        if not channels:
            raise InvalidInputError("subscribe to at least one channel")
        wait = self.space.config.timeout if timeout is None else check_seconds(timeout, "timeout", allow_zero=False)
        return Subscription(self, channels, timeout=wait)


Fields = Mapping[str, str | bytes | int | float]


@dataclass(frozen=True)
class StreamEntry:
    """One stream entry: `raw` holds the values as stored; `fields` reads them as text."""

    id: str
    raw: dict[str, bytes]

    @property
    def fields(self) -> dict[str, str]:
        try:
            return {name: value.decode() for name, value in self.raw.items()}
        except UnicodeDecodeError as exc:
            raise CorruptValueError(f"stream entry {self.id} holds binary values; read them from .raw") from exc


class StreamQueue:
    """A Redis stream read by consumer groups: each entry goes to one consumer and stays pending until acked,
    so work taken by a consumer that dies is not lost (see `claim_stale`)."""

    def __init__(self, space: Namespace, stream: str, *, maxlen: int | None = None) -> None:
        self.space = space
        self.key = space.key("stream", stream)
        self.maxlen = None if maxlen is None else check_count(maxlen, "maxlen")

    @staticmethod
    def _checked(fields: Fields) -> dict[Any, Any]:
        # Exact type checks first (the ABC and union isinstance checks are the slow path): at 1,000-entry
        # batches this check cost about a tenth of add_many.
        if (type(fields) is not dict and not isinstance(fields, Mapping)) or not fields:
            raise InvalidInputError("a stream entry needs at least one field (a mapping of name to value)")
        for name, value in fields.items():
            if type(name) is not str or not name:
                check_key(name)
            if type(value) not in _FIELD_TYPES and (
                isinstance(value, bool) or not isinstance(value, (str, bytes, int, float))
            ):
                raise InvalidInputError(
                    f"stream field {name!r} must be str, bytes, int or float, got {type(value).__name__}; "
                    "encode structured values (e.g. json.dumps) first"
                )
        return dict(fields)

    def add(self, fields: Fields) -> str:
        """Append an entry; returns its id. With `maxlen`, the oldest entries beyond it are dropped."""
        entry = self._checked(fields)
        with translated(self.space.config):
            entry_id = self.space.client.xadd(self.key, entry, maxlen=self.maxlen, approximate=False)
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    def add_many(self, entries: Sequence[Fields]) -> list[str]:
        """Append entries in order, in one round trip (a pipeline): one call per entry costs a network
        round trip each, which caps a producer at a few thousand entries per second."""
        if isinstance(entries, Mapping | str | bytes) or not isinstance(entries, Sequence):
            raise InvalidInputError(f"add_many takes a list of entries (mappings), got {type(entries).__name__}")
        checked = [self._checked(fields) for fields in entries]  # all checked before any is sent
        if not checked:
            return []
        with translated(self.space.config):
            pipe = self.space.client.pipeline(transaction=False)
            # The XADD command as pipe.xadd() would build it (MAXLEN n exact), without its keyword handling.
            command: Callable[..., Any] = pipe.execute_command
            head = ("XADD", self.key, "MAXLEN", self.maxlen, "*") if self.maxlen else ("XADD", self.key, "*")
            for entry in checked:
                command(*head, *chain.from_iterable(entry.items()))
            ids = pipe.execute()
        return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]

    def ensure_group(self, group: str, *, from_start: bool = True) -> bool:
        """Create the group (and stream) if missing; True when it was created now, False if it existed."""
        check_key(group)
        check_flag(from_start, "from_start")
        with translated(self.space.config):
            try:
                self.space.client.xgroup_create(self.key, group, id="0" if from_start else "$", mkstream=True)
            except ResponseError as exc:
                if reply_code(exc) == "BUSYGROUP":
                    return False
                raise
        return True

    def read(self, group: str, consumer: str, *, count: int = 10, block: float | None = None) -> list[StreamEntry]:
        """New entries for this consumer; waits up to `block` seconds when there are none (None or 0: no wait).

        Long waits are made of several server-side waits shorter than the socket timeout, so a `block`
        longer than REDIS_TIMEOUT waits instead of failing as an unreachable server.
        """
        check_key(group)
        check_key(consumer)
        check_count(count, "count")
        wait = 0.0 if block is None else check_seconds(block, "block")
        deadline = time.monotonic() + wait
        slice_s = max(self.space.config.timeout / 2, 0.001)
        while True:
            left = deadline - time.monotonic()
            block_ms = max(1, int(min(left, slice_s) * 1000)) if left > 0 else None
            with translated(self.space.config):
                answer: Any = self.space.client.xreadgroup(
                    group, consumer, {self.key: ">"}, count=count, block=block_ms
                )
            entries = self._entries(answer[0][1] if answer else [])
            if entries or block_ms is None or deadline - time.monotonic() <= 0:
                return entries

    def ack(self, group: str, *ids: str) -> int:
        """Mark entries done; returns how many were pending (ids already acked are not counted)."""
        check_key(group)
        if not ids:
            return 0
        for entry_id in ids:
            check_entry_id(entry_id)
        with translated(self.space.config):
            return int(self.space.client.xack(self.key, group, *ids))

    def pending(self, group: str, consumer: str | None = None) -> int:
        """Entries read but not yet acked, in the group or by one of its consumers."""
        check_key(group)
        if consumer is not None:
            check_key(consumer)
        with translated(self.space.config):
            summary: Any = self.space.client.xpending(self.key, group)
        if consumer is None:
            return int(summary["pending"])
        for row in summary.get("consumers") or []:
            name = row["name"].decode() if isinstance(row["name"], bytes) else str(row["name"])
            if name == consumer:
                return int(row["pending"])
        return 0

    def claim_stale(self, group: str, consumer: str, *, min_idle: float, count: int = 10) -> list[StreamEntry]:
        """Take over entries another consumer read but did not ack for `min_idle` seconds (it likely died)."""
        check_key(group)
        check_key(consumer)
        idle_ms = int(check_seconds(min_idle, "min_idle") * 1000)
        check_count(count, "count")
        with translated(self.space.config):
            answer: Any = self.space.client.xautoclaim(self.key, group, consumer, idle_ms, count=count)
        return self._entries(answer[1])

    def length(self) -> int:
        with translated(self.space.config):
            return int(self.space.client.xlen(self.key))

    def delete(self) -> bool:
        """Remove the stream with its groups and pending lists."""
        with translated(self.space.config):
            return bool(self.space.client.delete(self.key))

    @staticmethod
    def _entries(raw: list[Any]) -> list[StreamEntry]:
        entries = []
        for entry_id, fields in raw:
            if fields is None:  # deleted after it was read (Redis 6.2 reports these as nil)
                continue
            entries.append(StreamEntry(entry_id.decode(), {k.decode(): bytes(v) for k, v in fields.items()}))
        return entries
