"""TopicAdmin classifies the broker's answers by KafkaError codes, never by their text."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vectorstack.errors import AlreadyExistsError, InvalidInputError
from vectorstack.streaming import TopicAdmin


def test_creating_a_topic_twice_with_exist_ok_answers_false(admin: TopicAdmin, make_topic: Callable[..., str]) -> None:
    topic = make_topic()
    assert admin.create_topic(topic, exist_ok=True) is False
    with pytest.raises(AlreadyExistsError):
        admin.create_topic(topic)


def test_an_invalid_config_whose_text_says_exists_already_is_still_invalid(
    admin: TopicAdmin, unique_name: Callable[[str], str], cleanup: Callable[..., None]
) -> None:
    topic = unique_name("topic")
    cleanup(admin.delete_topic, topic)
    # The broker echoes the value in its message ("Invalid value exists already for configuration ..."):
    # exist_ok must accept only TOPIC_ALREADY_EXISTS, not any message with those words.
    with pytest.raises(InvalidInputError):
        admin.create_topic(topic, config={"cleanup.policy": "exists already"}, exist_ok=True)
