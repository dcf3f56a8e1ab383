"""Library metrics seen through a real Prometheus: scraped, pushed, custom, system, real Redis calls."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from testservices.ports import free_port
from testservices.state import Endpoint
from vectorstack.cache import RedisCache
from vectorstack.config import MilvusConfig, RedisConfig
from vectorstack.errors import InvalidFilterError, InvalidInputError, ServiceUnavailableError
from vectorstack.milvus import CollectionSchema, VectorStore
from vectorstack.monitoring import Metrics

from ..prometheus_api import TIMEOUT_S, http
from ..waiting import eventually
from .conftest import promql, series_values

pytestmark = [pytest.mark.integration, pytest.mark.monitoring]


@pytest.fixture
def exporter(
    stack: dict[str, str], unique_name: Callable[[str], str], cleanup: Callable[..., None]
) -> tuple[Metrics, str]:
    """A Metrics registry served on a free port and registered as a Prometheus scrape target."""
    if "PROMETHEUS_TARGETS_DIR" not in stack:
        pytest.skip("scrape targets can only be added to the harness's own (local) Prometheus")
    metrics = Metrics()
    server, port = metrics.serve()
    cleanup(server.shutdown)
    test_id = unique_name("exp")
    target = Path(stack["PROMETHEUS_TARGETS_DIR"]) / f"{test_id}.json"
    target.write_text(json.dumps([{"targets": [f"127.0.0.1:{port}"], "labels": {"test_id": test_id}}]))
    cleanup(target.unlink)
    return metrics, test_id


def test_operation_metrics_are_scraped_by_prometheus(stack: dict[str, str], exporter: tuple[Metrics, str]) -> None:
    metrics, test_id = exporter
    for _ in range(3):
        with metrics.track("milvus", "search", records=10):
            pass
    with pytest.raises(ValueError, match="boom"), metrics.track("milvus", "insert"):
        raise ValueError("boom")
    query = f'sum by (outcome) (vectorstack_operations_total{{test_id="{test_id}"}})'
    expected = {"ok": 3.0, "error": 1.0}
    eventually(
        lambda: series_values(stack["PROMETHEUS_URL"], query, "outcome"),
        f"{query} == {expected}",
        until=expected.__eq__,
    )
    errors = eventually(
        lambda: promql(stack["PROMETHEUS_URL"], f'vectorstack_errors_total{{test_id="{test_id}"}}'), "the error count"
    )
    assert errors[0]["metric"]["kind"] == "ValueError"
    records = promql(stack["PROMETHEUS_URL"], f'vectorstack_records_total{{test_id="{test_id}"}}')
    assert float(records[0]["value"][1]) == 30.0
    count = promql(
        stack["PROMETHEUS_URL"], f'vectorstack_operation_seconds_count{{test_id="{test_id}",operation="search"}}'
    )
    assert float(count[0]["value"][1]) == 3.0


def test_process_and_system_metrics_are_exported(stack: dict[str, str], exporter: tuple[Metrics, str]) -> None:
    _metrics, test_id = exporter
    for name in ("process_resident_memory_bytes", "vectorstack_system_memory_used_bytes", "python_info"):
        selector = f'{name}{{test_id="{test_id}"}}'
        found = eventually(lambda selector=selector: promql(stack["PROMETHEUS_URL"], selector), f"{selector} scraped")  # type: ignore[misc]
        assert float(found[0]["value"][1]) > 0


def test_custom_metrics_with_labels(stack: dict[str, str], exporter: tuple[Metrics, str]) -> None:
    metrics, test_id = exporter
    searches = metrics.counter("vectorstack_custom_searches", "Searches by tenant", ("tenant",))
    searches.labels("acme").inc(5)
    searches.labels("globex").inc(2)
    assert metrics.counter("vectorstack_custom_searches", "again") is searches, "asking twice gives the same metric"
    query = f'vectorstack_custom_searches_total{{test_id="{test_id}"}}'
    expected = {"acme": 5.0, "globex": 2.0}
    eventually(
        lambda: series_values(stack["PROMETHEUS_URL"], query, "tenant"),
        f"{query} == {expected}",
        until=expected.__eq__,
    )


def test_pushed_metrics_are_queryable_then_deleted(stack: dict[str, str], unique_name: Callable[[str], str]) -> None:
    job = unique_name("batch")
    metrics = Metrics(system=False)
    metrics.ingest_lag.labels("nightly").set(1234)
    metrics.push(stack["PUSHGATEWAY_URL"], job)
    found = eventually(
        lambda: promql(stack["PROMETHEUS_URL"], f'vectorstack_ingest_lag_records{{job="{job}"}}'), "the pushed lag"
    )
    assert float(found[0]["value"][1]) == 1234
    assert found[0]["metric"]["pipeline"] == "nightly", "honor_labels keeps the pushed labels"
    Metrics.delete_pushed(stack["PUSHGATEWAY_URL"], job)
    answer = http.get(f"{stack['PUSHGATEWAY_URL']}/metrics", timeout=TIMEOUT_S)
    answer.raise_for_status()
    assert job not in answer.text


def test_plain_prometheus_client_push_is_answered_within_30_s(
    stack: dict[str, str], unique_name: Callable[[str], str]
) -> None:
    """What `testservices up prometheus pushgateway smtp` gives a user, with plain prometheus_client."""
    job = unique_name("plain")
    registry = CollectorRegistry()
    Gauge("plain_value", "a value", registry=registry).set(42)
    push_to_gateway(stack["PUSHGATEWAY_URL"], job=job, registry=registry)
    found = eventually(
        lambda: promql(stack["PROMETHEUS_URL"], f'plain_value{{job="{job}"}}'), "plain_value", timeout=30
    )
    assert float(found[0]["value"][1]) == 42
    Metrics.delete_pushed(stack["PUSHGATEWAY_URL"], job)


def test_real_redis_operations_are_measured(
    stack: dict[str, str], exporter: tuple[Metrics, str], redis_service: Endpoint, unique_name: Callable[[str], str]
) -> None:
    """The cache times every Redis command by itself when given a Metrics: nothing to wrap by hand."""
    metrics, test_id = exporter
    with RedisCache(RedisConfig.from_env(redis_service.env), namespace=unique_name("mon"), tracker=metrics) as cache:
        for i in range(50):
            cache.kv.set(f"k{i}", "v")
            assert cache.kv.get_text(f"k{i}") == "v"
        cache.vectors.set_many({"a": np.ones(4), "b": np.zeros(4)})
        cache.clear()
    selector = f'test_id="{test_id}",service="redis",operation=~"set|get|pipeline"'
    query = f"sum by (operation) (vectorstack_operation_seconds_count{{{selector}}})"
    expected = {"set": 50.0, "get": 50.0, "pipeline": 1.0}
    eventually(
        lambda: series_values(stack["PROMETHEUS_URL"], query, "operation"),
        f"{query} == {expected}",
        until=expected.__eq__,
    )
    selector = f'{{test_id="{test_id}",service="redis"}}'
    mean_query = (
        f"sum(vectorstack_operation_seconds_sum{selector}) / sum(vectorstack_operation_seconds_count{selector})"
    )
    mean = promql(stack["PROMETHEUS_URL"], mean_query)
    assert 0 < float(mean[0]["value"][1]) < 1, "a loopback Redis call takes well under a second"


def test_in_flight_gauge_counts_running_operations() -> None:
    metrics = Metrics(system=False)
    gauge = metrics.in_flight.labels("kafka", "produce")
    with metrics.track("kafka", "produce"):
        assert gauge._value.get() == 1
        with metrics.track("kafka", "produce"):
            assert gauge._value.get() == 2
    assert gauge._value.get() == 0


def test_bad_metric_names_and_unreachable_gateway() -> None:
    metrics = Metrics(system=False)
    for bad in ("1starts_with_digit", "has-dash", "", "__reserved"):
        with pytest.raises(InvalidInputError, match="invalid metric name"):
            metrics.counter(bad, "bad")
    with pytest.raises(InvalidInputError, match="invalid label name"):
        metrics.gauge("fine_name", "bad label", ("bad-label",))
    with pytest.raises(InvalidInputError, match="service and an operation"), metrics.track("", "x"):
        pass
    with pytest.raises(ServiceUnavailableError, match=r"pushgateway at http://127\.0\.0\.1:\d+ unreachable"):
        metrics.push(f"http://127.0.0.1:{free_port()}", "job", timeout=2)


def test_exporter_serves_the_text_format(exporter: tuple[Metrics, str]) -> None:
    metrics, _test_id = exporter
    with metrics.track("s3", "upload"):
        pass
    server, port = metrics.serve()
    try:
        answer = http.get(f"http://127.0.0.1:{port}/metrics", timeout=TIMEOUT_S)
        answer.raise_for_status()
        text = answer.text
    finally:
        server.shutdown()
    assert 'vectorstack_operation_seconds_bucket{le="0.005",operation="upload",service="s3"}' in text
    assert "process_cpu_seconds_total" in text


def test_real_milvus_operations_are_measured(
    stack: dict[str, str], exporter: tuple[Metrics, str], milvus_service: Endpoint, unique_name: Callable[[str], str]
) -> None:
    """The vector store times every Milvus call by itself when given a Metrics."""
    metrics, test_id = exporter
    name = unique_name("mon")
    with VectorStore(MilvusConfig.from_env(milvus_service.env), tracker=metrics) as store:
        try:
            store.create_collection(name, CollectionSchema(dimension=8, metric="L2"))
            vectors = np.random.default_rng(1).random((200, 8)).astype(np.float32)
            store.insert(name, [{"id": i, "vector": vectors[i]} for i in range(200)])
            for i in range(20):
                assert store.search(name, vectors[[i]], limit=1)[0][0].id == i
            with pytest.raises(InvalidFilterError):
                store.query(name, "id >>> 3")
        finally:
            store.drop_collection(name)
    selector = f'test_id="{test_id}",service="milvus",operation=~"insert|search|create_collection"'
    query = f"sum by (operation) (vectorstack_operation_seconds_count{{{selector}}})"
    expected = {"insert": 1.0, "search": 20.0, "create_collection": 1.0}
    eventually(
        lambda: series_values(stack["PROMETHEUS_URL"], query, "operation"),
        f"{query} == {expected}",
        until=expected.__eq__,
    )
    failed = f'vectorstack_operations_total{{test_id="{test_id}",service="milvus",operation="query",outcome="error"}}'
    assert float(eventually(lambda: promql(stack["PROMETHEUS_URL"], failed), failed)[0]["value"][1]) == 1.0
