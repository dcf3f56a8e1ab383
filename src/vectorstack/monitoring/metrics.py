"""Metrics for every library operation, process and system metrics, an exporter, and Pushgateway pushes."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator, Mapping
from typing import Any, cast

import psutil
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from vectorstack.errors import InvalidInputError
from vectorstack.monitoring.pushgateway import Pushgateway

NAMESPACE = "vectorstack"
_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Buckets from 0.5 ms to 10 s: a Redis GET and a Milvus index build both land somewhere useful.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class SystemCollector(Collector):
    """Machine-wide CPU and memory, next to the process metrics prometheus_client provides."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        memory = psutil.virtual_memory()
        yield GaugeMetricFamily(f"{NAMESPACE}_system_memory_used_bytes", "Memory in use on the machine", memory.used)
        yield GaugeMetricFamily(f"{NAMESPACE}_system_memory_total_bytes", "Memory of the machine", memory.total)
        yield GaugeMetricFamily(f"{NAMESPACE}_system_cpu_percent", "CPU use of the machine", psutil.cpu_percent(None))


def check_name(name: str, kind: str = "metric") -> str:
    if not isinstance(name, str) or not (_NAME if kind == "metric" else _LABEL).match(name) or name.startswith("__"):
        raise InvalidInputError(
            f"invalid {kind} name {name!r}: use letters, digits and underscores, not starting with a digit"
        )
    return name


class Metrics:
    """One registry with the library's operation metrics; `track()` measures a call of any service."""

    def __init__(self, registry: CollectorRegistry | None = None, *, system: bool = True) -> None:
        self.registry = registry or CollectorRegistry()
        labels = ("service", "operation")
        self.latency = Histogram(
            f"{NAMESPACE}_operation_seconds",
            "Latency of library operations",
            labels,
            registry=self.registry,
            buckets=LATENCY_BUCKETS,
        )
        self.operations = Counter(
            f"{NAMESPACE}_operations", "Library operations by outcome", (*labels, "outcome"), registry=self.registry
        )
        self.errors = Counter(
            f"{NAMESPACE}_errors", "Failed operations by error kind", ("service", "kind"), registry=self.registry
        )
        self.in_flight = Gauge(
            f"{NAMESPACE}_in_flight_operations", "Operations running now", labels, registry=self.registry
        )
        self.records = Counter(
            f"{NAMESPACE}_records", "Records handled (written, read, streamed)", labels, registry=self.registry
        )
        self.ingest_lag = Gauge(
            f"{NAMESPACE}_ingest_lag_records", "Records waiting to be ingested", ("pipeline",), registry=self.registry
        )
        self._custom: dict[str, Any] = {}
        if system:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            self.registry.register(SystemCollector())

    @contextlib.contextmanager
    def track(self, service: str, operation: str, *, records: int = 0) -> Iterator[None]:
        """Time the block, count it by outcome, count errors by exception type, keep the in-flight gauge."""
        if not service or not operation:
            raise InvalidInputError("track() needs a service and an operation name")
        gauge = self.in_flight.labels(service, operation)
        gauge.inc()
        started = time.perf_counter()
        try:
            yield
        except BaseException as exc:
            self.operations.labels(service, operation, "error").inc()
            self.errors.labels(service, type(exc).__name__).inc()
            raise
        else:
            self.operations.labels(service, operation, "ok").inc()
            if records:
                self.records.labels(service, operation).inc(records)
        finally:
            self.latency.labels(service, operation).observe(time.perf_counter() - started)
            gauge.dec()

    def count(self, service: str, operation: str, records: int) -> None:
        """Records handled by an operation whose size is known only afterwards (a poll, a produce)."""
        if records:
            self.records.labels(service, operation).inc(records)

    def counter(self, name: str, description: str, labels: tuple[str, ...] = ()) -> Counter:
        return cast(Counter, self._custom_metric(Counter, name, description, labels))

    def gauge(self, name: str, description: str, labels: tuple[str, ...] = ()) -> Gauge:
        return cast(Gauge, self._custom_metric(Gauge, name, description, labels))

    def _custom_metric(self, kind: Any, name: str, description: str, labels: tuple[str, ...]) -> Any:
        check_name(name)
        for label in labels:
            check_name(label, "label")
        if name in self._custom:
            return self._custom[name]
        try:
            metric = kind(name, description, labels, registry=self.registry)
        except ValueError as exc:
            raise InvalidInputError(f"metric {name!r}: {exc}") from exc
        self._custom[name] = metric
        return metric

    def families(self) -> list[str]:
        """Names of every metric family this registry exposes (what the dashboard must cover)."""
        return sorted({family.name for family in self.registry.collect()})

    def serve(self, port: int = 0, addr: str = "127.0.0.1") -> tuple[Any, int]:
        """Start an exporter (`/metrics`) in a thread; returns (server, port). Call server.shutdown() to stop."""
        server, _thread = start_http_server(port, addr=addr, registry=self.registry)
        return server, int(server.server_address[1])

    def push(
        self, gateway_url: str, job: str, *, grouping_key: Mapping[str, str] | None = None, timeout: float = 5.0
    ) -> None:
        """Push this registry for a batch job (replaces the job's previous push). To push often, keep one
        `Pushgateway` client instead: this opens and closes one per call."""
        check_name(job, "label")
        with Pushgateway(gateway_url, timeout=timeout) as gateway:
            gateway.push(self.registry, job, grouping_key=grouping_key)

    @staticmethod
    def delete_pushed(
        gateway_url: str, job: str, *, grouping_key: Mapping[str, str] | None = None, timeout: float = 5.0
    ) -> None:
        """Remove what `push` left on the gateway for `job` (and `grouping_key`)."""
        with Pushgateway(gateway_url, timeout=timeout) as gateway:
            gateway.delete(job, grouping_key=grouping_key)
