"""`vectorstack-pipeline`: run the ingest worker, back a collection up to S3, restore it, produce test data.

Connections come from the same variables as the library's (MILVUS_HOST/PORT, KAFKA_BOOTSTRAP_SERVERS,
REDIS_HOST/PORT/PASSWORD, S3_ENDPOINT_URL and AWS_*), so `eval "$(testservices env)"` sets everything.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType

import numpy as np

from vectorstack.config import MilvusConfig, S3Config
from vectorstack.errors import VectorStackError
from vectorstack.milvus import IndexSpec, VectorStore
from vectorstack.milvus.schema import METRICS
from vectorstack.monitoring import Metrics
from vectorstack.pipeline.settings import PipelineSettings, parse_field
from vectorstack.pipeline.worker import IngestWorker
from vectorstack.storage import ObjectStore
from vectorstack.storage.backup import CollectionBackup
from vectorstack.streaming import StreamProducer, TopicAdmin, VectorRecord

EXAMPLES = """
examples:
  eval "$(python -m testservices env)"      # connection variables of running services
  vectorstack-pipeline produce --topic docs --count 10000 --dimension 128 --partitions 4
  vectorstack-pipeline worker --topic docs --collection docs --dimension 128 --field source:varchar:64 \\
      --backup-bucket backups --backup-every 300 --pushgateway "$PUSHGATEWAY_URL"
  vectorstack-pipeline worker ... --idle-exit 5     # a batch run: stop once the topic is drained
  vectorstack-pipeline backup --collection docs --bucket backups
  vectorstack-pipeline restore --collection docs --bucket backups --into docs_restored

The worker stops cleanly on Ctrl-C or SIGTERM: it finishes the batch in hand, commits its offsets and
leaves the consumer group. A second Ctrl-C exits at once (uncommitted records are redelivered).
"""


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vectorstack-pipeline",
        description="Stream vector records from Kafka into Milvus, with a Redis cache, metrics and S3 backups.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    worker = sub.add_parser("worker", help="consume a topic into a collection until stopped")
    worker.add_argument("--topic", required=True)
    worker.add_argument("--collection", required=True)
    worker.add_argument("--dimension", type=int, required=True)
    worker.add_argument("--group", default="vectorstack-ingest", help="consumer group (default %(default)s)")
    worker.add_argument("--dead-letter-topic", default="", help="default: <topic>.dlq")
    worker.add_argument("--batch-size", type=int, default=500)
    worker.add_argument("--batch-wait", type=float, default=0.2, help="seconds a poll waits to fill a batch")
    worker.add_argument("--id-type", choices=("int64", "varchar"), default="int64")
    worker.add_argument("--metric", choices=METRICS, default="COSINE")
    worker.add_argument("--index", default="HNSW", help="index type of a new collection (default %(default)s)")
    worker.add_argument(
        "--field", action="append", default=[], metavar="NAME:TYPE[:LEN]", help="declared metadata field"
    )
    worker.add_argument("--no-dynamic-fields", action="store_true", help="dead-letter undeclared metadata")
    worker.add_argument("--cache-namespace", default="pipeline")
    worker.add_argument("--cache-ttl", type=float, default=3600.0)
    worker.add_argument("--events-channel", default="ingested")
    worker.add_argument("--backup-bucket", default="")
    worker.add_argument("--backup-every", type=float, default=0.0, help="seconds between backups (0: none)")
    worker.add_argument("--pushgateway", default=os.environ.get("PUSHGATEWAY_URL", ""), help="push metrics here")
    worker.add_argument("--metrics-job", default="vectorstack_ingest")
    worker.add_argument("--metrics-port", type=int, default=None, help="also serve /metrics on this port")
    worker.add_argument("--name", default=None, help="worker name in metrics and events (default host-pid)")
    worker.add_argument(
        "--instance-id",
        default=None,
        help="static group membership: a worker restarted with the same id takes its partitions back at once",
    )
    worker.add_argument("--idle-exit", type=float, default=None, help="stop after this many idle seconds")
    worker.add_argument("--max-records", type=int, default=None, help="stop after storing this many")
    worker.add_argument("--progress-every", type=float, default=2.0, help="seconds between progress lines")

    for command, text in (("backup", "back a collection up to S3"), ("restore", "restore a collection from S3")):
        p = sub.add_parser(command, help=text)
        p.add_argument("--collection", required=True)
        p.add_argument("--bucket", required=True)
        p.add_argument("--prefix", default="backups")
        if command == "restore":
            p.add_argument("--version", default=None, help="backup version (default: the latest)")
            p.add_argument("--into", default=None, help="restore under another name")

    produce = sub.add_parser("produce", help="send synthetic vector records (for demos and load)")
    produce.add_argument("--topic", required=True)
    produce.add_argument("--count", type=int, required=True)
    produce.add_argument("--dimension", type=int, required=True)
    produce.add_argument("--start-id", type=int, default=0)
    produce.add_argument("--partitions", type=int, default=4, help="partitions if the topic is created")
    produce.add_argument("--seed", type=int, default=0)
    return parser


def _worker(args: argparse.Namespace) -> int:
    settings = PipelineSettings(
        topic=args.topic,
        collection=args.collection,
        dimension=args.dimension,
        group=args.group,
        dead_letter_topic=args.dead_letter_topic,
        batch_size=args.batch_size,
        batch_wait=args.batch_wait,
        id_type=args.id_type,
        metric=args.metric,
        index=IndexSpec(args.index),
        fields=tuple(parse_field(f) for f in args.field),
        dynamic_fields=not args.no_dynamic_fields,
        cache_namespace=args.cache_namespace,
        cache_ttl=args.cache_ttl,
        events_channel=args.events_channel,
        metrics_job=args.metrics_job,
        backup_bucket=args.backup_bucket,
        backup_every=args.backup_every,
    )
    metrics = Metrics()
    with IngestWorker(
        settings,
        metrics=metrics,
        pushgateway_url=args.pushgateway or None,
        name=args.name,
        instance_id=args.instance_id,
        say=_say,
    ) as worker:
        if args.metrics_port is not None:
            server, port = metrics.serve(args.metrics_port)
            _say(f"metrics on http://127.0.0.1:{port}/metrics")
        signals = 0

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            nonlocal signals
            signals += 1
            if signals > 1:
                raise KeyboardInterrupt
            _say(f"{signal.Signals(signum).name}: finishing the batch in hand, committing, leaving the group")
            worker.stop()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        _say(f"worker {worker.name}: {settings.topic} -> {settings.collection} (group {settings.group})")
        worker.run(idle_exit=args.idle_exit, max_records=args.max_records, progress_every=args.progress_every)
        if args.metrics_port is not None:
            server.shutdown()
    return 0


def _backup(args: argparse.Namespace) -> int:
    with VectorStore(MilvusConfig.from_env()) as store:
        backups = CollectionBackup(store, ObjectStore(S3Config.from_env()), args.bucket, prefix=args.prefix)
        if args.command == "backup":
            store.flush(args.collection)
            info = backups.backup(args.collection, progress=lambda rows: _say(f"backed up {rows:,} records"))
        else:
            info = backups.restore(
                args.collection,
                version=args.version,
                into=args.into,
                progress=lambda rows: _say(f"restored {rows:,} records"),
            )
    _say(f"{args.command}: {info.rows:,} records, version {info.version}, {info.location}")
    return 0


def _produce(args: argparse.Namespace) -> int:
    TopicAdmin().create_topic(args.topic, partitions=args.partitions, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    sent = 0
    with StreamProducer() as producer:
        while sent < args.count:
            n = min(10_000, args.count - sent)
            vectors = rng.random((n, args.dimension), dtype=np.float32)
            first = args.start_id + sent
            records = [VectorRecord(first + i, vectors[i], {"seq": first + i}) for i in range(n)]
            report = producer.send_records(args.topic, records)
            if not report.ok:
                raise VectorStackError(f"{len(report.failed)} records were not delivered: {report.failed[:3]}")
            sent += n
            _say(f"produced {sent:,}/{args.count:,} records to {args.topic}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"worker": _worker, "backup": _backup, "restore": _backup, "produce": _produce}
    try:
        return handlers[args.command](args)
    except VectorStackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
