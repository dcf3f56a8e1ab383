"""The registry of service specs: one module per service, looked up by name."""

from __future__ import annotations

from collections.abc import Iterable

from testservices.errors import UnknownServiceError
from testservices.specs.base import LaunchContext, LaunchPlan, ServiceSpec
from testservices.specs.kafka import KafkaSpec
from testservices.specs.milvus import MilvusSpec
from testservices.specs.prometheus import AlertmanagerSpec, PrometheusSpec, PushgatewaySpec
from testservices.specs.redis import RedisSpec
from testservices.specs.s3 import S3Spec
from testservices.specs.smtp import SmtpSpec

SPECS: dict[str, ServiceSpec] = {
    spec.name: spec
    for spec in (
        RedisSpec(),
        MilvusSpec(),
        KafkaSpec(),
        S3Spec(),
        SmtpSpec(),
        PushgatewaySpec(),
        AlertmanagerSpec(),
        PrometheusSpec(),
    )
}

__all__ = ["SPECS", "LaunchContext", "LaunchPlan", "ServiceSpec", "get_spec", "resolve"]


def get_spec(name: str) -> ServiceSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise UnknownServiceError(name, list(SPECS)) from None


def resolve(names: Iterable[str]) -> list[ServiceSpec]:
    """The asked services plus what they depend on, dependencies first, each once."""
    ordered: list[ServiceSpec] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise UnknownServiceError(f"dependency cycle {' -> '.join((*path, name))}", list(SPECS))
        spec = get_spec(name)
        for dep in spec.depends_on:
            visit(dep, (*path, name))
        if spec not in ordered:
            ordered.append(spec)

    for name in names:
        visit(name, ())
    return ordered
