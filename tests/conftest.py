"""Shared test configuration: the harness fixtures come from the `testservices` plugin (an entry point)."""

from __future__ import annotations

import pytest

from testservices.specs.kafka import MISSING_FEATURES

pytest_plugins = ["pytester", "tests.bad_input"]


@pytest.fixture(autouse=True)
def _broker_features(request: pytest.FixtureRequest) -> None:
    """Skip, with the reason, tests marked `broker_feature(...)` that need what the running Kafka broker
    lacks (see TESTSERVICES_KAFKA); unmarked tests never start a broker for this."""
    wanted = [feature for marker in request.node.iter_markers("broker_feature") for feature in marker.args]
    if not wanted:
        return
    broker = request.getfixturevalue("kafka_service").env.get("KAFKA_BROKER", "")
    missing = MISSING_FEATURES.get(broker, {})
    for feature in wanted:
        if feature in missing:
            pytest.skip(f"{broker} broker: {missing[feature]}")
