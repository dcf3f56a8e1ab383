"""What an ingest pipeline reads, where it writes, and how it batches: one frozen value per pipeline."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from vectorstack.errors import InvalidInputError
from vectorstack.milvus import CollectionSchema, FieldSpec, IndexSpec
from vectorstack.milvus.schema import Metric
from vectorstack.streaming.codec import VectorRecord

_INT_RANGES = {"int8": 2**7, "int16": 2**15, "int32": 2**31, "int64": 2**63}


class InvalidRecordError(InvalidInputError):
    """A record that decodes but does not fit the collection (a missing or mistyped field): a poison record."""


@dataclass(frozen=True)
class PipelineSettings:
    topic: str
    collection: str
    dimension: int
    group: str = "vectorstack-ingest"
    # Undecodable or invalid records go here with their reason; default `<topic>.dlq`.
    dead_letter_topic: str = ""
    batch_size: int = 500
    # How long one poll waits to fill a batch; also the worst extra latency a lone record sees.
    batch_wait: float = 0.2
    id_type: Literal["int64", "varchar"] = "int64"
    metric: Metric = "COSINE"
    fields: tuple[FieldSpec, ...] = ()
    # Metadata keys that are not declared fields are kept (Milvus' dynamic field) unless this is False,
    # in which case a record carrying one is dead-lettered.
    dynamic_fields: bool = True
    index: IndexSpec = field(default_factory=IndexSpec)
    cache_namespace: str = "pipeline"
    cache_ttl: float = 3600.0  # bounds how long a cache entry can outlive a worker that died mid-refresh
    events_channel: str = "ingested"
    metrics_job: str = "vectorstack_ingest"
    push_every: float = 5.0
    backup_bucket: str = ""
    backup_prefix: str = "backups"
    backup_every: float = 0.0  # seconds between scheduled backups; 0: only on demand

    def __post_init__(self) -> None:
        if not self.topic or not self.collection:
            raise InvalidInputError("a pipeline needs a topic and a collection")
        if self.batch_size < 1:
            raise InvalidInputError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.backup_every and not self.backup_bucket:
            raise InvalidInputError("backup_every needs backup_bucket: where should the backups go?")
        self.schema()  # validates dimension, metric and field names now, not at the first batch

    @property
    def dlq_topic(self) -> str:
        return self.dead_letter_topic or f"{self.topic}.dlq"

    def schema(self) -> CollectionSchema:
        return CollectionSchema(
            dimension=self.dimension,
            metric=self.metric,
            id_type=self.id_type,
            fields=self.fields,
            dynamic_fields=self.dynamic_fields,
            description=f"ingested from Kafka topic {self.topic} by vectorstack.pipeline",
        )

    def to_row(self, record: VectorRecord) -> dict[str, Any]:
        """The Milvus row of a record, or InvalidRecordError saying which field is wrong."""
        if self.id_type == "int64" and not isinstance(record.id, int):
            raise InvalidRecordError(f"id {record.id!r} is not an integer; the collection has int64 ids")
        if record.vector.shape != (self.dimension,):
            raise InvalidRecordError(f"dimension {record.vector.size}, expected {self.dimension}")
        row: dict[str, Any] = {"id": record.id, "vector": record.vector}
        declared = {spec.name: spec for spec in self.fields}
        for name, spec in declared.items():
            if name not in record.metadata:
                raise InvalidRecordError(f"metadata field {name!r} is missing")
            row[name] = _checked(spec, record.metadata[name])
        extra = {k: v for k, v in record.metadata.items() if k not in declared}
        if extra and not self.dynamic_fields:
            raise InvalidRecordError(f"metadata fields {sorted(extra)} are not in the collection's schema")
        for name in extra:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name) or name in ("id", "vector", "$meta"):
                raise InvalidRecordError(f"metadata key {name!r} cannot be stored as a field")
        row.update(extra)
        return row

    def from_row(self, row: Mapping[str, Any]) -> VectorRecord:
        """The record a stored row holds (what the cache keeps and the reader returns)."""
        metadata = {k: v for k, v in row.items() if k not in ("id", "vector")}
        return VectorRecord(row["id"], np.asarray(row["vector"], dtype=np.float32), metadata)


def _checked(spec: FieldSpec, value: Any) -> Any:
    kind = spec.type
    ok: bool
    if kind in _INT_RANGES:
        limit = _INT_RANGES[kind]
        ok = isinstance(value, int) and not isinstance(value, bool) and -limit <= value < limit
    elif kind in ("float", "double"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "varchar":
        ok = isinstance(value, str) and len(value.encode()) <= (spec.max_length or 0)
        if isinstance(value, str) and not ok:
            raise InvalidRecordError(f"field {spec.name!r} is longer than its max_length {spec.max_length} bytes")
    else:  # json: anything JSON decoded
        ok = True
    if not ok:
        raise InvalidRecordError(f"field {spec.name!r} must be {kind}, got {type(value).__name__} {value!r:.40}")
    return value


def parse_field(text: str) -> FieldSpec:
    """`name:type[:max_length]`, as the command line takes it (`source:varchar:64`, `seq:int64`)."""
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise InvalidInputError(f"field {text!r}: write name:type or name:varchar:max_length")
    max_length = int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else None
    return FieldSpec(parts[0], parts[1], max_length)  # type: ignore[arg-type]
