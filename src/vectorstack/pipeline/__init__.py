"""The streaming pipeline: Kafka -> Milvus, with a Redis cache and events, metrics, and S3 backups.

    settings = PipelineSettings(topic="docs", collection="docs", dimension=384)
    with IngestWorker(settings, pushgateway_url=os.environ.get("PUSHGATEWAY_URL")) as worker:
        worker.run()                      # until worker.stop() (the CLI wires SIGINT/SIGTERM to it)

Readers get records through `CachedReader` (Redis first, Milvus behind it). `vectorstack-pipeline --help`
runs the same from a shell.
"""

from vectorstack.pipeline.cache import CachedReader, ReadStats, RecordCache
from vectorstack.pipeline.settings import InvalidRecordError, PipelineSettings, parse_field
from vectorstack.pipeline.telemetry import PipelineMetrics
from vectorstack.pipeline.worker import IngestWorker, RunSummary

__all__ = [
    "CachedReader",
    "IngestWorker",
    "InvalidRecordError",
    "PipelineMetrics",
    "PipelineSettings",
    "ReadStats",
    "RecordCache",
    "RunSummary",
    "parse_field",
]
