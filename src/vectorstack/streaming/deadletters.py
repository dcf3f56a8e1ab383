"""The dead-letter topic: where a consumer moves the messages it cannot decode, bytes untouched."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vectorstack.errors import InvalidInputError, VectorStackError
from vectorstack.streaming import checks
from vectorstack.streaming.producer import StreamProducer

if TYPE_CHECKING:
    from vectorstack.streaming.consumer import Received

HEADER_DLQ_REASON = "vs-dlq-reason"
HEADER_DLQ_SOURCE = "vs-dlq-source"


@dataclass
class DeadLetters:
    """Where undecodable messages go; each keeps its bytes (a tombstone stays one) and gains its reason and
    origin as headers."""

    producer: StreamProducer
    topic: str
    sent: int = 0
    reasons: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.producer, StreamProducer):
            raise InvalidInputError(f"DeadLetters needs a StreamProducer, got {self.producer!r}")
        checks.topic_name(self.topic, "dead-letter topic")

    def send(self, message: Received, reason: str) -> None:
        headers = [
            *message.headers,
            (HEADER_DLQ_REASON, reason.encode()),
            (HEADER_DLQ_SOURCE, f"{message.topic}/{message.partition}/{message.offset}".encode()),
        ]
        report = self.producer.send_messages(self.topic, [(message.key, message.value, headers)])
        if not report.ok:
            raise VectorStackError(f"could not dead-letter {message.topic}/{message.offset}: {report.failed}")
        self.sent += 1
        self.reasons.append(reason)
