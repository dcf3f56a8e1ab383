"""librdkafka errors (confluent-kafka) as the library's exceptions."""

from __future__ import annotations

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
HINT = "Is the broker running? Check KAFKA_BOOTSTRAP_SERVERS"


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
