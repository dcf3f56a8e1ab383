"""librdkafka errors (confluent-kafka) as the library's exceptions, and the watch that notices a broker
nobody can reach (librdkafka retries that in silence: a poll just returns nothing, forever)."""

from __future__ import annotations

import threading
import time

from confluent_kafka import KafkaError, KafkaException

from vectorstack.errors import (
    AlreadyExistsError,
    InvalidInputError,
    ServiceUnavailableError,
    UnknownTopicError,
    ValueTooLargeError,
    VectorStackError,
)

UNREACHABLE = {
    KafkaError._TRANSPORT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._TIMED_OUT,
    KafkaError._MSG_TIMED_OUT,
    KafkaError._RESOLVE,
    KafkaError.NETWORK_EXCEPTION,
    KafkaError.REQUEST_TIMED_OUT,
}
# The error events (error_cb) that say no broker answers: a refused or dropped connection, a name that does
# not resolve, every broker down. Others (a rebalance, an authorisation failure) mean something else.
UNREACHABLE_EVENTS = {KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._RESOLVE}
HINT = "Is the broker running? Check KAFKA_BOOTSTRAP_SERVERS"


class BrokerWatch:
    """Fed by librdkafka's error_cb: since when the brokers have been unreachable, going by the events'
    codes (never their text). librdkafka has no event for "connected again", so a client that sees the
    outage outlast its timeout asks the broker once (a metadata request) before it reports it, and clears
    the watch when that, or anything else from the broker, arrives."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self.cause: KafkaError | None = None

    def on_error(self, error: KafkaError) -> None:
        """The error_cb: called from the client's poll, on the caller's thread."""
        if error.code() in UNREACHABLE_EVENTS:
            with self._lock:
                if self.down_since is None:
                    self.down_since = time.monotonic()
                self.cause = error

    def reached(self) -> None:
        """The broker answered: whatever outage was seen is over."""
        with self._lock:
            self.down_since = None
            self.cause = None

    def overdue(self, timeout: float) -> bool:
        """Unreachable for at least `timeout` seconds, by the events seen so far."""
        since = self.down_since
        return since is not None and time.monotonic() - since >= timeout

    def error(self, address: str, timeout: float) -> ServiceUnavailableError:
        cause = self.cause
        return ServiceUnavailableError("kafka", address, timeout, cause.str() if cause else None, HINT)


def kafka_error(exc: BaseException) -> KafkaError | None:
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0]
    return exc if isinstance(exc, KafkaError) else None


def translate(
    error: KafkaError | BaseException,
    operation: str,
    *,
    address: str,
    timeout: float,
    topic: str | None = None,
    limit: int | None = None,
) -> VectorStackError:
    err = error if isinstance(error, KafkaError) else kafka_error(error)
    if err is None:
        return VectorStackError(f"kafka {operation} failed: {error}")
    code = err.code()
    text = err.str()
    if code in UNREACHABLE:
        return ServiceUnavailableError("kafka", address, timeout, text, HINT)
    if code in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC):
        return UnknownTopicError(topic or "?")
    if code in (KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.RECORD_LIST_TOO_LARGE):
        return ValueTooLargeError(
            f"a message to {topic!r}",
            0,
            limit or 0,
            "raise the producer's max_message_bytes and the topic's max.message.bytes",
        )
    if code == KafkaError._INVALID_ARG:  # librdkafka refused a setting or an argument before sending
        return InvalidInputError(f"kafka {operation}: librdkafka refused an argument or setting: {text}")
    if code == KafkaError.TOPIC_ALREADY_EXISTS:
        return AlreadyExistsError(f"topic {topic!r} exists already; pass exist_ok=True to accept it")
    if code in (
        KafkaError.INVALID_PARTITIONS,
        KafkaError.INVALID_REPLICATION_FACTOR,
        KafkaError.INVALID_CONFIG,
        KafkaError.TOPIC_EXCEPTION,
        KafkaError.POLICY_VIOLATION,
    ):
        return InvalidInputError(f"kafka {operation} on {topic!r} refused: {text}")
    return VectorStackError(f"kafka {operation} on {topic!r} failed: {text}")
