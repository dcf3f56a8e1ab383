"""The ingest worker: Kafka -> Milvus -> Redis cache and events -> metrics -> S3 backups.

Delivery is at-least-once with idempotent writes, which makes the end result exactly-once:
- offsets are committed only after a batch is stored in Milvus, so a crash redelivers at most the
  uncommitted batches;
- records are upserted by primary key, so a redelivered record replaces itself (same id, same content);
- within one batch the last record of an id wins, as it would have across two batches.

What stops the worker: `stop()` (or SIGINT/SIGTERM through the CLI), and an error retrying cannot fix.
Transient failures (`vectorstack.retry.is_transient`: a service unreachable or not answering in time) are
waited out: an unreachable Milvus is retried with the library's back-off (the batch is neither committed
nor skipped), an unreachable Redis marks the touched ids dirty and they are removed from the cache once it
answers again (so no stale entry outlives the outage). A poison record goes to the dead-letter topic with
its reason and never reaches Milvus. Anything else where a batch depends on it (polling Kafka, writing to
Milvus, dead-lettering: a missing collection, input refused that is not one record's fault) and refused
credentials anywhere stop the worker with `IngestStoppedError` naming the stage and the cause; the batch
in hand is not committed, so a worker started after the fix gets it again.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tenacity import RetryCallState

from vectorstack.cache import RedisCache
from vectorstack.config import KafkaConfig, MilvusConfig, RedisConfig, S3Config
from vectorstack.errors import (
    AuthenticationError,
    BatchWriteError,
    IngestStoppedError,
    InvalidInputError,
    PermissionDeniedError,
    UnknownTopicError,
    VectorStackError,
)
from vectorstack.milvus import VectorStore
from vectorstack.monitoring import Metrics, Pushgateway
from vectorstack.monitoring.metrics import check_name
from vectorstack.pipeline.cache import RecordCache
from vectorstack.pipeline.settings import PipelineSettings
from vectorstack.pipeline.telemetry import PipelineMetrics
from vectorstack.retry import is_transient, policy
from vectorstack.storage import ObjectStore
from vectorstack.storage.backup import BackupInfo, CollectionBackup
from vectorstack.streaming import StreamConsumer, StreamProducer, TopicAdmin
from vectorstack.streaming.codec import DecodeError, VectorRecord, decode
from vectorstack.streaming.consumer import DeadLetters, Received

T = TypeVar("T")
# Errors that no stage waits out, not even the best-effort ones: credentials stay wrong until someone
# changes them.
CREDENTIALS_REFUSED = (AuthenticationError, PermissionDeniedError)


class _Stopping(Exception):
    """Raised inside a batch when stop() was called while waiting for a service: nothing is committed."""


@dataclass
class RunSummary:
    ingested: int = 0
    dead_lettered: int = 0
    batches: int = 0
    seconds: float = 0.0
    backups: list[BackupInfo] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.ingested / self.seconds if self.seconds > 0 else 0.0


class IngestWorker:
    def __init__(
        self,
        settings: PipelineSettings,
        *,
        kafka: KafkaConfig | None = None,
        milvus: MilvusConfig | None = None,
        redis: RedisConfig | None = None,
        s3: S3Config | None = None,
        metrics: Metrics | None = None,
        pushgateway_url: str | None = None,
        name: str | None = None,
        instance_id: str | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        """`instance_id` makes the worker a static group member (Kafka's group.instance.id): restarted
        with the same id, it gets its partitions back at once instead of waiting for the broker to expire
        the crashed member (session.timeout.ms on Kafka; noida never expires it, see the README)."""
        self.settings = settings
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.say = say or (lambda message: None)
        self.metrics = metrics or Metrics(system=False)
        self.telemetry = PipelineMetrics(self.metrics, settings.group)
        check_name(settings.metrics_job, "label")  # a job name the gateway would refuse fails here, not mid-run
        self.summary = RunSummary()
        self.lag = 0
        self._stop = threading.Event()
        self._dirty: set[Any] = set()  # ids whose cache entry may be stale: removed once Redis answers
        self._last_complaint: dict[str, float] = {}
        self._ingested_at_backup = 0
        # Set once a batch is abandoned (stopped mid-wait, or a fatal error): its offsets are among the
        # consumer's positions already, so nothing may be committed any more; a new worker redoes it.
        self._abandoned = False
        kafka = kafka or KafkaConfig.from_env()
        # Connect to everything now: a wrong address fails here with the library's error, not mid-batch,
        # and what was opened before the failing one is closed again.
        with contextlib.ExitStack() as opened:
            self.store = VectorStore(milvus or MilvusConfig.from_env(), tracker=self.metrics)
            opened.callback(self.store.close)
            self.store.create_collection(settings.collection, settings.schema(), index=settings.index, exist_ok=True)
            self.admin = TopicAdmin(kafka)
            opened.callback(self.admin.close)
            self.admin.create_topic(settings.dlq_topic, partitions=1, exist_ok=True)
            self.producer = StreamProducer(kafka, tracker=self.metrics)
            opened.callback(self.producer.close)
            self.dead_letters = DeadLetters(self.producer, settings.dlq_topic)
            redis = redis or RedisConfig.from_env()
            self.redis = RedisCache(redis, namespace=settings.cache_namespace, tracker=self.metrics)
            opened.callback(self.redis.close)
            self.cache = RecordCache(self.redis, settings.cache_ttl)
            self.backups = (
                CollectionBackup(
                    self.store,
                    ObjectStore(s3 or S3Config.from_env()),
                    settings.backup_bucket,
                    prefix=settings.backup_prefix,
                )
                if settings.backup_bucket
                else None
            )
            static = {"group.instance.id": instance_id} if instance_id else {}
            self.consumer = StreamConsumer([settings.topic], settings.group, kafka, tracker=self.metrics, extra=static)
            # One client (one HTTP session) for every push of the run, not a new one each `push_every` s.
            self.gateway = Pushgateway(pushgateway_url) if pushgateway_url else None
            opened.pop_all()  # all open: the worker's own now, closed by close()

    # -- running ----------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Finish (or abandon, uncommitted) the current batch and return from `run`; safe from any thread
        or a signal handler."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(
        self, *, idle_exit: float | None = None, max_records: int | None = None, progress_every: float = 2.0
    ) -> RunSummary:
        """Ingest until `stop()`, or until nothing arrived for `idle_exit` s (while partitions are assigned),
        or `max_records` were stored."""
        started = last_record = last_progress = last_lag = last_push = last_backup = time.monotonic()
        while not self._stop.is_set():
            try:
                handled = self.step()
            except _Stopping:
                break
            now = time.monotonic()
            if handled or not self.consumer.assignment():
                last_record = now  # idle counts only once partitions are assigned (a rebalance can take 6 s+)
            if now - last_lag >= progress_every:
                self.update_lag()
                last_lag = now
            if now - last_progress >= progress_every:
                self.say(self.progress())
                last_progress = now
            if self.gateway is not None and now - last_push >= self.settings.push_every:
                self.push_metrics()
                last_push = now
            if self.backups and self.settings.backup_every and now - last_backup >= self.settings.backup_every:
                self._scheduled_backup()
                last_backup = now
            if max_records is not None and self.summary.ingested >= max_records:
                break
            if idle_exit is not None and now - last_record >= idle_exit:
                break
        self.summary.seconds = time.monotonic() - started
        self._commit()
        self.update_lag()
        if self.gateway is not None:
            self.push_metrics()
        self.say(self.progress(final=True))
        return self.summary

    def step(self) -> int:
        """Poll one batch and carry it through; returns how many messages it held."""
        try:
            messages = self.consumer.poll(self.settings.batch_size, self.settings.batch_wait)
        except VectorStackError as exc:
            # A topic not there (yet, or again after a broker restart) is waited for like an outage.
            if not (is_transient(exc) or isinstance(exc, UnknownTopicError)):
                raise self._fatal("kafka", exc) from exc
            self._trouble("kafka", exc)
            self._sleep(0.5)
            return 0
        if not messages:
            self._clean_dirty()
            return 0
        records: dict[Any, VectorRecord] = {}
        rows: dict[Any, dict[str, Any]] = {}
        origin: dict[Any, Received] = {}
        for message in messages:
            try:
                record = decode(
                    message.key,
                    message.value,
                    message.headers,
                    message.timestamp_ms,
                    expected_dim=self.settings.dimension,
                )
                row = self.settings.to_row(record)
            except (DecodeError, InvalidInputError) as exc:
                self._dead_letter(message, str(exc))
                continue
            records.pop(record.id, None)  # re-insert: the last message of an id wins and keeps its place
            records[record.id] = record
            rows[record.id] = row
            origin[record.id] = message
        stored = self._store(list(records.values()), rows, origin)
        self._refresh_cache(stored)
        self._publish(stored)
        self._commit()
        if stored:
            self.telemetry.stored(len(stored))
            self.summary.ingested += len(stored)
            self.summary.batches += 1
        return len(messages)

    # -- the stages of a batch --------------------------------------------------------------------------
    def _store(
        self, records: list[VectorRecord], rows: dict[Any, dict[str, Any]], origin: dict[Any, Received]
    ) -> list[VectorRecord]:
        """Upsert, retrying outages; a batch the server refuses is halved until the refused record is
        found and dead-lettered, so one bad record never blocks the others."""
        stored: list[VectorRecord] = []
        pending = [records] if records else []
        while pending:
            chunk = pending.pop()
            refusal = self._upsert(chunk, rows)
            if refusal is None:
                stored.extend(chunk)
            elif len(chunk) == 1:
                self._dead_letter(origin[chunk[0].id], f"refused by Milvus: {refusal}")
            else:
                half = len(chunk) // 2
                pending.extend([chunk[half:], chunk[:half]])
        return stored

    def _upsert(self, chunk: list[VectorRecord], rows: dict[Any, dict[str, Any]]) -> str | None:
        """None once stored; the reason if Milvus refuses the records themselves (not an outage)."""

        def attempt() -> str | None:
            try:
                self.store.upsert(self.settings.collection, [rows[r.id] for r in chunk])
            except VectorStackError as exc:
                cause = exc.__cause__ if isinstance(exc, BatchWriteError) else exc
                if isinstance(cause, InvalidInputError):
                    return str(cause)
                raise
            return None

        with self.metrics.track("pipeline", "batch", records=len(chunk)):
            return self._retrying("milvus", attempt)

    def _retrying(self, stage: str, attempt: Callable[[], T]) -> T:
        """Call `attempt` under the library's retry policy for as long as its failures are transient (an
        outage); `stop()` ends the wait with _Stopping, and any other error stops the worker (_fatal):
        either way nothing of the batch is committed."""

        def note(state: RetryCallState) -> None:
            failure = state.outcome.exception() if state.outcome else None
            if failure is not None:
                self._trouble(stage, failure)

        retrying = policy(sleep=self._sleep, before_sleep=note)
        try:
            return retrying(attempt)
        except VectorStackError as exc:
            raise self._fatal(stage, exc) from exc

    def _fatal(self, stage: str, exc: VectorStackError) -> IngestStoppedError:
        """The error that stops the worker: the batch in hand is abandoned, never committed."""
        self._abandoned = True
        self.telemetry.error(stage)
        self.say(f"{stage}: {exc} (not retried: stopping)")
        return IngestStoppedError(stage, exc)

    def _best_effort(self, stage: str, exc: VectorStackError) -> None:
        """A side duty failed (cache, events, commit, lag, metrics, backup): noted, and the next batch
        tries again, unless the credentials were refused, which no retry fixes."""
        if isinstance(exc, CREDENTIALS_REFUSED):
            raise self._fatal(stage, exc) from exc
        self._trouble(stage, exc)

    def _dead_letter(self, message: Received, reason: str) -> None:
        """Send to the dead-letter topic, retrying while Kafka is away: an offset past a poison record is
        committed only once the record is safely in the dead-letter topic."""
        self._retrying("dead_letter", lambda: self.dead_letters.send(message, reason))
        self.telemetry.dead_lettered.inc()
        self.summary.dead_lettered += 1
        self.say(f"dead-lettered {message.topic}/{message.partition}/{message.offset}: {reason}")

    def _refresh_cache(self, stored: list[VectorRecord]) -> None:
        if not stored:
            return
        try:
            if self._clean_dirty():
                self.cache.put_many(stored)
                return
        except VectorStackError as exc:
            self._best_effort("cache", exc)
        self._dirty.update(r.id for r in stored)

    def _clean_dirty(self) -> bool:
        """Delete cache entries written while Redis was unreachable (a restarted Redis may bring back
        older values from its append-only file); False while Redis still does not answer."""
        if not self._dirty:
            return True
        try:
            self.cache.delete_many(sorted(self._dirty, key=str))
        except VectorStackError as exc:
            self._best_effort("cache", exc)
            return False
        self.say(f"cache: removed {len(self._dirty)} entries that may have gone stale while Redis was away")
        self._dirty.clear()
        return True

    def _publish(self, stored: list[VectorRecord]) -> None:
        if not stored:
            return
        try:
            self.redis.events.publish(
                self.settings.events_channel,
                {"worker": self.name, "count": len(stored), "ids": [r.id for r in stored]},
            )
        except VectorStackError as exc:
            self._best_effort("events", exc)

    def _commit(self) -> None:
        if self._abandoned:
            return
        try:
            self.consumer.commit()
        except VectorStackError as exc:
            self._best_effort("commit", exc)  # kept positions are committed with the next batch

    # -- side duties ------------------------------------------------------------------------------------
    def update_lag(self) -> int:
        try:
            self.lag = sum(self.admin.consumer_lag(self.settings.group, self.settings.topic).values())
        except VectorStackError as exc:
            self._best_effort("lag", exc)
        else:
            self.telemetry.lag.set(self.lag)
        return self.lag

    def push_metrics(self) -> None:
        assert self.gateway is not None
        try:
            self.gateway.push(self.metrics.registry, self.settings.metrics_job, grouping_key={"instance": self.name})
        except VectorStackError as exc:
            self._best_effort("metrics", exc)

    def backup_now(self) -> BackupInfo:
        if self.backups is None:
            raise InvalidInputError("this pipeline has no backup_bucket")
        self._commit()
        self.store.flush(self.settings.collection)
        info = self.backups.backup(self.settings.collection)
        self.telemetry.last_backup.set(time.time())
        self.summary.backups.append(info)
        self.say(f"backup: {info.rows} records in {info.chunks} chunks to {info.location}")
        return info

    def _scheduled_backup(self) -> None:
        if self.summary.backups and self.summary.ingested == self._ingested_at_backup:
            return  # nothing new since the last one
        try:
            self.backup_now()
            self._ingested_at_backup = self.summary.ingested
        except VectorStackError as exc:
            self._best_effort("backup", exc)

    def progress(self, *, final: bool = False) -> str:
        rate = self.summary.rate if final else self.telemetry.current_rate()
        line = (
            f"{'done: ' if final else ''}ingested {self.summary.ingested:,} records ({rate:,.0f}/s), "
            f"{self.summary.dead_lettered:,} dead-lettered, lag {self.lag:,}"
        )
        if self.summary.errors:
            line += ", recovered from " + ", ".join(f"{n} {stage}" for stage, n in sorted(self.summary.errors.items()))
        return line

    def _trouble(self, stage: str, exc: BaseException) -> None:
        """Count a failure the worker will retry past; say so at most every 5 s per stage."""
        self.telemetry.error(stage)
        self.summary.errors[f"{stage} errors"] = self.summary.errors.get(f"{stage} errors", 0) + 1
        now = time.monotonic()
        if now - self._last_complaint.get(stage, 0.0) >= 5.0:
            self._last_complaint[stage] = now
            self.say(f"{stage}: {exc} (retrying)")

    def _sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            self._abandoned = True  # the batch waiting for a service (if any) must not be committed
            raise _Stopping

    # -- closing ----------------------------------------------------------------------------------------
    def close(self) -> None:
        """Commit what is stored, leave the group (its partitions move to the others at once), disconnect."""
        try:
            self._commit()
            self.consumer.close()
            self.producer.close()
        finally:
            self.admin.close()
            self.redis.close()
            self.store.close()
            if self.gateway is not None:
                self.gateway.close()

    def __enter__(self) -> IngestWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
