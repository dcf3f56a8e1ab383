"""The Kafka clients' input contract and outage watch, without a broker (issue 16)."""

from __future__ import annotations

import math

import pytest
from confluent_kafka import KafkaError, KafkaException

from vectorstack.config import KafkaConfig
from vectorstack.errors import InvalidInputError, ServiceUnavailableError
from vectorstack.streaming import checks
from vectorstack.streaming.errors import BrokerWatch, translate


@pytest.mark.parametrize("name", ["a", "vectors.dlq", "A-b_c.9", "x" * 249, "..."])
def test_valid_topic_names_pass(name: str) -> None:
    assert checks.topic_name(name) == name


@pytest.mark.parametrize("name", ["", ".", "..", "x" * 250, "a b", "a/b", "é", None, 3, b"vectors"])
def test_invalid_topic_names_are_refused_with_the_rule(name: object) -> None:
    with pytest.raises(InvalidInputError, match=r"1-249 characters of a-z, A-Z, 0-9"):
        checks.topic_name(name)


def test_a_subscription_is_a_non_empty_list_without_repeats() -> None:
    assert checks.topic_list(["b", "a", "b"]) == ["b", "a"]
    with pytest.raises(InvalidInputError, match="at least one topic"):
        checks.topic_list([])
    with pytest.raises(InvalidInputError, match="list of topic names"):
        checks.topic_list("vectors")  # a bare str would subscribe to 'v', 'e', 'c', ...


@pytest.mark.parametrize("value", [True, False, 1.0, "3", None, math.nan])
def test_whole_numbers_refuse_bools_floats_and_text(value: object) -> None:
    with pytest.raises(InvalidInputError, match="whole number from 1"):
        checks.whole(value, "partitions", 1)


@pytest.mark.parametrize("value", [math.nan, math.inf, -1, 0, True, "1", checks.MAX_TIMEOUT_S + 1])
def test_seconds_are_finite_and_positive(value: object) -> None:
    with pytest.raises(InvalidInputError, match="finite number of seconds"):
        checks.seconds(value, "timeout")


def test_zero_seconds_only_where_allowed() -> None:
    assert checks.seconds(0, "timeout", zero_ok=True) == 0.0
    with pytest.raises(InvalidInputError):
        checks.seconds(0, "timeout")


def test_a_config_with_a_nan_timeout_is_refused() -> None:
    """int(nan * 1000) in client_settings raised a plain ValueError; now the config itself refuses it."""
    with pytest.raises(InvalidInputError, match="KAFKA_TIMEOUT"):
        KafkaConfig(timeout=math.nan)
    with pytest.raises(InvalidInputError, match="must be a KafkaConfig"):
        checks.kafka_config({"bootstrap.servers": "x:1"})


def test_extra_settings_cannot_take_over_what_the_library_manages() -> None:
    with pytest.raises(InvalidInputError, match="set by the library"):
        checks.extra_settings({"group.id": ""}, checks.MANAGED_CONSUMER_SETTINGS)
    with pytest.raises(InvalidInputError, match="str, int, finite float or bool"):
        checks.extra_settings({"linger.ms": [1]})
    assert checks.extra_settings({"fetch.max.bytes": 1024}) == {"fetch.max.bytes": 1024}


def test_messages_are_checked_whole_before_any_is_sent() -> None:
    good = (b"k", b"v", None)
    assert checks.out_messages([good, (None, None, [("h", None)])]) == [good, (None, None, [("h", None)])]
    with pytest.raises(InvalidInputError, match=r"message 1: the value must be bytes or None, got str"):
        checks.out_messages([good, (b"k", "text", None)])
    with pytest.raises(InvalidInputError, match=r"message 0: header .* must be a \(str, bytes or None\) pair"):
        checks.out_messages([(b"k", b"v", [("h", "text")])])


def test_the_watch_goes_by_codes_never_by_text() -> None:
    watch = BrokerWatch()
    watch.on_error(KafkaError(KafkaError._INVALID_ARG, "Broker transport failure"))  # the words, not the code
    assert not watch.overdue(0.0)
    watch.on_error(KafkaError(KafkaError._ALL_BROKERS_DOWN))
    assert watch.down_since is not None
    assert watch.overdue(0.0)
    assert not watch.overdue(3600)
    assert isinstance(watch.error("127.0.0.1:1", 2.0), ServiceUnavailableError)
    watch.reached()
    assert not watch.overdue(0.0)


def test_librdkafkas_invalid_argument_is_invalid_input() -> None:
    error = translate(KafkaException(KafkaError(KafkaError._INVALID_ARG)), "create consumer", address="a:1", timeout=1)
    assert isinstance(error, InvalidInputError)
