"""The vector record wire format and the Kafka settings, without a broker."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from vectorstack.config import KafkaConfig
from vectorstack.errors import InvalidInputError
from vectorstack.streaming.codec import DecodeError, VectorRecord, decode, encode


def test_round_trip_is_exact_and_compact() -> None:
    record = VectorRecord.of(42, np.linspace(-1, 1, 128), {"lang": "en", "n": [1, 2]}, timestamp_ms=5)
    key, value, headers = encode(record)
    assert key == b"42"
    assert dict(headers) == {"vs-schema": b"1", "vs-dim": b"128", "vs-id-type": b"int"}
    assert len(value) == 2 + 4 + 128 * 4 + len(b'{"lang":"en","n":[1,2]}')
    back = decode(key, value, headers, 5)
    assert back.id == 42
    np.testing.assert_array_equal(back.vector, record.vector)
    assert back.metadata == record.metadata
    assert back.timestamp_ms == 5
    assert decode(*encode(VectorRecord.of("42", [1.0]))[:3]).id == "42", "a str id stays a str"


@pytest.mark.parametrize(
    ("key", "value", "headers", "reason"),
    [
        (b"1", b"VR", [], "no vs-schema header"),
        (b"1", b"VR", [("vs-schema", b"2")], "version 2 is not supported"),
        (None, b"VR\x01\x00\x00\x00\x00\x00\x80?", [("vs-schema", b"1")], "id as the message key"),
        (b"1", b"XX", [("vs-schema", b"1")], "marker"),
        (b"1", b"VR" + struct.pack("<I", 4) + b"\x00" * 8, [("vs-schema", b"1")], "needs 16"),
        (b"1", b"VR" + struct.pack("<I", 1) + struct.pack("<f", 1.0) + b"[1]", [("vs-schema", b"1")], "JSON object"),
        (b"1", b"VR" + struct.pack("<I", 1) + struct.pack("<f", float("nan")), [("vs-schema", b"1")], "NaN"),
    ],
)
def test_what_is_not_a_record_says_why(
    key: bytes | None, value: bytes, headers: list[tuple[str, bytes]], reason: str
) -> None:
    with pytest.raises(DecodeError, match=reason):
        decode(key, value, headers)


def test_expected_dimension_is_enforced() -> None:
    key, value, headers = encode(VectorRecord.of(1, np.ones(4)))
    with pytest.raises(DecodeError, match="dimension 4, expected 8"):
        decode(key, value, headers, expected_dim=8)


def test_kafka_settings_from_variables() -> None:
    config = KafkaConfig.from_env(
        {
            "KAFKA_BOOTSTRAP_SERVERS": "b1:9092,b2:9092",
            "KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KAFKA_SASL_USERNAME": "u",
            "KAFKA_SASL_PASSWORD": "hunter2",
        }
    )
    settings = config.client_settings()
    assert settings["security.protocol"] == "SASL_SSL"
    assert settings["sasl.username"] == "u"
    assert settings["sasl.password"] == "hunter2", "the client gets the password"
    assert "hunter2" not in repr(config), "the repr does not"
    with pytest.raises(InvalidInputError, match="host:port"):
        KafkaConfig.from_env({"KAFKA_BOOTSTRAP_SERVERS": "justahost"})
    with pytest.raises(InvalidInputError, match="KAFKA_SECURITY_PROTOCOL"):
        KafkaConfig.from_env({"KAFKA_SECURITY_PROTOCOL": "tls"})
