"""Streaming vector records through Kafka: a versioned wire format, producer, consumer, topics, lag."""

from vectorstack.streaming.admin import TopicAdmin
from vectorstack.streaming.codec import DecodeError, Undecodable, VectorRecord, decode, encode
from vectorstack.streaming.consumer import DeadLetters, Received, ReceivedRecord, StreamConsumer
from vectorstack.streaming.producer import DeliveryReport, StreamProducer

__all__ = [
    "DeadLetters",
    "DecodeError",
    "DeliveryReport",
    "Received",
    "ReceivedRecord",
    "StreamConsumer",
    "StreamProducer",
    "TopicAdmin",
    "Undecodable",
    "VectorRecord",
    "decode",
    "encode",
]
