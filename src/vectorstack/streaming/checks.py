"""The input contract of the Kafka clients, in one place for the producer, the consumer and the admin.

Every public call checks its arguments here before anything reaches librdkafka: a bad value must come out
as `InvalidInputError` stating the rule, never as librdkafka's raw `KafkaException`, a `TypeError` from a
comparison, or (for an empty group id) a C assertion that aborts the whole Python process.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

from vectorstack.config import KafkaConfig
from vectorstack.errors import InvalidInputError

# Kafka's own rule for topic names (kafka.common.internals.Topic): 1-249 of these characters, not . or ..
TOPIC_RULE = "a topic name is 1-249 characters of a-z, A-Z, 0-9, '.', '_' and '-', and not '.' or '..'"
_TOPIC_CHARS = re.compile(r"[a-zA-Z0-9._-]{1,249}")
INT32_MAX = 2**31 - 1
# librdkafka takes timeouts as int32 milliseconds: a longer one would overflow in the C client.
MAX_TIMEOUT_S = INT32_MAX // 1000
# Settings whose meaning the library's guarantees rest on: a consumer's group is its `group` argument
# (an empty one in `extra` would abort the process like group=""), and offsets move only by commit().
MANAGED_CONSUMER_SETTINGS = ("group.id", "enable.auto.commit", "enable.auto.offset.store")

Setting = str | int | float | bool
Headers = Sequence[tuple[str, bytes | None]]
OutMessage = tuple[bytes | None, bytes | None, Headers | None]  # key, value (None: a tombstone), headers


def is_whole(value: object) -> TypeGuard[int]:
    """An int that is not a bool: True would otherwise pass as 1 partition or a 1 ms linger."""
    return isinstance(value, int) and not isinstance(value, bool)


def topic_name(name: object, what: str = "topic") -> str:
    if not isinstance(name, str) or not _TOPIC_CHARS.fullmatch(name) or name in (".", ".."):
        raise InvalidInputError(f"{what} {name!r} is not a valid Kafka topic name: {TOPIC_RULE}")
    return name


def topic_list(topics: object) -> list[str]:
    """A consumer's subscription: a non-empty list of valid names (a bare str would be read letter by letter)."""
    if isinstance(topics, str | bytes) or not isinstance(topics, Sequence):
        raise InvalidInputError(f"topics must be a list of topic names, got {topics!r}; e.g. ['vectors']")
    if not topics:
        raise InvalidInputError("topics is empty: a consumer subscribes to at least one topic")
    return list(dict.fromkeys(topic_name(t) for t in topics))


def group_id(group: object) -> str:
    if not isinstance(group, str) or not group:
        raise InvalidInputError(f"consumer group id {group!r} must be a non-empty string, e.g. 'ingest'")
    if "\x00" in group:
        raise InvalidInputError(f"consumer group id {group!r} must not contain a NUL character")
    return group


def whole(value: object, what: str, minimum: int, maximum: int = INT32_MAX) -> int:
    if not is_whole(value) or not minimum <= value <= maximum:
        raise InvalidInputError(f"{what} must be a whole number from {minimum:,} to {maximum:,}, got {value!r}")
    return value


def optional_whole(value: object, what: str, minimum: int, maximum: int = INT32_MAX) -> int | None:
    return None if value is None else whole(value, what, minimum, maximum)


def seconds(value: object, what: str, *, zero_ok: bool = False) -> float:
    """A finite number of seconds (NaN would compare false everywhere and wait forever or never)."""
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not zero_ok)
        or value > MAX_TIMEOUT_S
    ):
        lower = "0" if zero_ok else "more than 0"
        raise InvalidInputError(
            f"{what} must be a finite number of seconds, {lower} to {MAX_TIMEOUT_S:,}, got {value!r}"
        )
    return float(value)


def flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInputError(f"{what} must be True or False, got {value!r}")
    return value


def callback(value: object, what: str) -> Any:
    if value is not None and not callable(value):
        raise InvalidInputError(f"{what} must be a function or None, got {value!r}")
    return value


def kafka_config(config: object) -> KafkaConfig:
    """The config a client was given (or the environment's): its timeout feeds librdkafka's int settings."""
    chosen = KafkaConfig.from_env() if config is None else config
    if not isinstance(chosen, KafkaConfig):
        raise InvalidInputError(f"config must be a KafkaConfig (or None for the environment's), got {config!r}")
    seconds(chosen.timeout, "KafkaConfig.timeout")
    return chosen


def extra_settings(extra: object, managed: Sequence[str] = ()) -> dict[str, Setting]:
    """librdkafka settings added by the caller: names are strings, values scalars, managed ones refused."""
    if extra is None:
        return {}
    if not isinstance(extra, Mapping):
        raise InvalidInputError(f"extra must be a mapping of librdkafka settings, got {extra!r}")
    for name, value in extra.items():
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"extra setting name {name!r} must be a librdkafka setting name (a str)")
        if not isinstance(value, str | int | float | bool) or (isinstance(value, float) and not math.isfinite(value)):
            raise InvalidInputError(f"extra setting {name}={value!r} must be a str, int, finite float or bool")
        if name in managed:
            raise InvalidInputError(
                f"extra setting {name!r} is set by the library ({', '.join(managed)}): use the constructor's "
                "own arguments (group=...), and commit() to move offsets"
            )
    return dict(extra)


def out_messages(messages: object) -> list[OutMessage]:
    """(key, value, headers) triples: key and value bytes or None (None value: a tombstone), headers a list
    of (str, bytes). Checked in full before the first is queued, so a bad one sends none of the batch."""
    if isinstance(messages, str | bytes | Mapping) or not hasattr(messages, "__iter__"):
        raise InvalidInputError(f"messages must be an iterable of (key, value, headers) tuples, got {messages!r}")
    checked = []
    for position, message in enumerate(messages):
        if not isinstance(message, tuple) or len(message) != 3:
            raise InvalidInputError(f"message {position} must be a (key, value, headers) tuple, got {message!r}")
        key, value, headers = message
        for part, name in ((key, "key"), (value, "value")):
            if part is not None and not isinstance(part, bytes):
                raise InvalidInputError(
                    f"message {position}: the {name} must be bytes or None, got {type(part).__name__} "
                    "(encode text first, e.g. 'text'.encode())"
                )
        checked.append((key, value, header_list(headers, position)))
    return checked


def header_list(headers: object, position: int) -> Headers | None:
    if headers is None:
        return None
    if isinstance(headers, str | bytes | Mapping) or not isinstance(headers, Sequence):
        raise InvalidInputError(
            f"message {position}: headers must be a list of (str, bytes) pairs or None, got {headers!r}"
        )
    for header in headers:
        if (
            not isinstance(header, tuple)
            or len(header) != 2
            or not isinstance(header[0], str)
            or not isinstance(header[1], bytes | None)
        ):
            raise InvalidInputError(f"message {position}: header {header!r} must be a (str, bytes or None) pair")
    return list(headers)


def timestamp_list(timestamps: object, count: int) -> list[int | None]:
    """Message timestamps in ms since the epoch (None: the time of sending); at most one per message."""
    if isinstance(timestamps, str | bytes | Mapping) or not hasattr(timestamps, "__iter__"):
        raise InvalidInputError(
            f"timestamps must be an iterable of ints (ms since the epoch) or None, got {timestamps!r}"
        )
    stamps = list(timestamps)
    if len(stamps) > count:
        raise InvalidInputError(f"{len(stamps)} timestamps for {count} messages: give at most one per message")
    return [optional_whole(stamp, f"timestamp {i}", 0, 2**63 - 1) for i, stamp in enumerate(stamps)]


def tracker_of(tracker: object) -> Any:
    """A metrics object with the Tracker methods (track, count), or None."""
    if tracker is not None and not (
        callable(getattr(tracker, "track", None)) and callable(getattr(tracker, "count", None))
    ):
        raise InvalidInputError(
            f"tracker must have track() and count() (e.g. vectorstack.monitoring.Metrics), got {tracker!r}"
        )
    return tracker
