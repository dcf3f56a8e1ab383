"""An error retrying cannot fix stops the worker at once, says which stage and why, and commits nothing of
the batch in hand; the command exits non-zero instead of retrying forever."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

from vectorstack.errors import CollectionNotFoundError, CollectionNotLoadedError
from vectorstack.milvus import VectorStore
from vectorstack.streaming import TopicAdmin

from ..waiting import eventually
from .conftest import Pipeline, worker_command


def _count_or_zero(store: VectorStore, collection: str) -> int:
    try:
        return store.count(collection)
    except (CollectionNotFoundError, CollectionNotLoadedError):
        return 0  # the command has not created it yet


def test_worker_command_stops_with_the_cause_when_its_collection_is_dropped(
    pipeline: Pipeline, store: VectorStore, spawn: Callable[..., Any]
) -> None:
    settings = pipeline.settings
    pipeline.produce(pipeline.records(range(300)))
    proc = spawn(worker_command(pipeline, "--progress-every", "0.5"), pipeline.stack.env)

    def stored() -> int:
        assert proc.poll() is None, "the worker command ended before storing anything"
        return _count_or_zero(store, settings.collection)

    eventually(stored, "the worker command storing the first 300 records", timeout=90, until=lambda n: n >= 300)

    store.drop_collection(settings.collection)  # an operator's mistake: no retry brings it back
    pipeline.produce(pipeline.records(range(300, 400)))
    try:
        output, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("the worker kept retrying a missing collection for 30 s instead of stopping") from exc
    assert proc.returncode == 1, output
    assert "ingest stopped in the milvus stage" in output, output[-2000:]
    assert f"collection {settings.collection!r} does not exist" in output, output[-2000:]

    lag = TopicAdmin(pipeline.stack.kafka).consumer_lag(settings.group, settings.topic)
    assert sum(lag.values()) == 100, f"the 100 records of the failed batch must stay uncommitted: {lag}"


def test_worker_command_refused_by_redis_exits_at_once_with_the_fix(
    pipeline: Pipeline, spawn: Callable[..., Any]
) -> None:
    """Credentials no retry can fix: the command says so and exits 1 instead of waiting out an "outage"."""
    redis = pipeline.stack.redis
    wrong = {"REDIS_URL": f"redis://:not-the-password@{redis.host}:{redis.port}/0", "REDIS_PASSWORD": "x"}
    proc = spawn(worker_command(pipeline), {**pipeline.stack.env, **wrong})
    try:
        output, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("the worker kept retrying refused credentials for 60 s instead of stopping") from exc
    assert proc.returncode == 1, output[-2000:]
    assert "refused the credentials" in output, output[-2000:]
    assert "REDIS_PASSWORD" in output, "the message names the setting to fix"
