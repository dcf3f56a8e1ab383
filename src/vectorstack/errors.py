"""The library's exceptions: each says what was wrong and what to do next, and chains the driver's error.

Callers catch these instead of driver exceptions (redis-py, pymilvus, ...), so code written against
vectorstack does not change when a driver does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class VectorStackError(Exception):
    """Base class of every error the library raises on purpose.

    `transient` says whether the same call may succeed later unchanged (the service was away or busy):
    `vectorstack.retry` retries exactly those and nothing else. A class sets it; a driver translator may
    set it on one instance from the driver's own flag (a Milvus status marked retriable)."""

    transient: bool = False


class ServiceUnavailableError(VectorStackError):
    """The server could not be reached (or stopped answering) within the configured time."""

    transient = True

    def __init__(self, service: str, address: str, timeout_s: float, cause: object = None, hint: str = "") -> None:
        detail = f": {cause}" if cause else ""
        advice = hint or "Is the server running and reachable? Check the address settings"
        super().__init__(f"{service} at {address} unreachable after {timeout_s:g} s{detail}. {advice}")
        self.service = service
        self.address = address
        self.timeout_s = timeout_s


class AuthenticationError(VectorStackError):
    """The server refused the credentials."""


class InvalidInputError(VectorStackError, ValueError):
    """An argument the library can reject before it reaches the server (nothing was written)."""


class DimensionMismatchError(InvalidInputError):
    """A vector's length differs from the one its collection or cache was set up with."""

    def __init__(self, expected: int | None, got: int | None, where: str = "") -> None:
        place = f" ({where})" if where else ""
        sizes = f": expected {expected}, got {got}" if expected is not None else ""
        advice = (
            "; vectors must come from the same embedding model the store was created for"
            if expected is not None
            else ""
        )
        super().__init__(f"vector dimension mismatch{place}{sizes}{advice}")
        self.expected = expected
        self.got = got


class ValueTooLargeError(InvalidInputError):
    """A value is over the size limit that applies to it (the library's own, or the server's)."""

    def __init__(self, what: str, size: int, limit: int, hint: str = "") -> None:
        extra = f"; {hint}" if hint else "; split it into smaller values or raise the configured limit"
        super().__init__(f"{what} is {size:,} bytes, over the limit of {limit:,} bytes{extra}")
        self.size = size
        self.limit = limit


class InvalidFilterError(InvalidInputError):
    """A filter expression the server could not parse or apply."""


class NotFoundError(VectorStackError, LookupError):
    """A named thing (collection, partition, key, index) does not exist."""


class CollectionNotFoundError(NotFoundError):
    def __init__(self, name: str) -> None:
        super().__init__(f"collection {name!r} does not exist; create it first (VectorStore.create_collection)")
        self.name = name


class UnsupportedOperationError(VectorStackError):
    """The server does not implement this call (e.g. Milvus Lite lacks some of real Milvus' calls)."""


class PermissionDeniedError(VectorStackError):
    """The credentials are valid but do not allow this operation."""


class ServerError(VectorStackError):
    """The server failed or refused an operation for a reason other than the caller's input or credentials
    (out of memory, a read-only replica, a script error): retrying elsewhere or later may help, changing the
    arguments will not."""

    transient = True


class CollectionNotLoadedError(VectorStackError):
    def __init__(self, name: str) -> None:
        super().__init__(f"collection {name!r} is not loaded into memory; call VectorStore.load({name!r}) first")
        self.name = name


class AlreadyExistsError(VectorStackError):
    """Something with that name exists already (pass exist_ok=True to accept it)."""


class UnknownTopicError(NotFoundError):
    def __init__(self, topic: str) -> None:
        super().__init__(f"topic {topic!r} does not exist; create it first (TopicAdmin.create_topic)")
        self.topic = topic


class IngestStoppedError(VectorStackError):
    """The ingest worker met an error that retrying cannot fix (bad credentials, a missing collection) and
    stopped; the batch in hand was not committed."""

    def __init__(self, stage: str, cause: BaseException) -> None:
        super().__init__(
            f"ingest stopped in the {stage} stage (an error retrying cannot fix): {cause}. The batch in hand "
            "was not committed and is redelivered when a worker runs again: fix the cause, then restart the worker"
        )
        self.stage = stage
        self.cause = cause


class LockNotOwnedError(VectorStackError):
    """A lock was released or extended by a holder whose token no longer owns it."""


class LockTimeoutError(VectorStackError, TimeoutError):
    """A lock could not be acquired within the blocking timeout."""


class RateLimitExceededError(VectorStackError):
    """A rate limit refused the call; `retry_after` says when to try again (seconds)."""

    def __init__(self, key: str, limit: int, window_s: float, retry_after: float) -> None:
        super().__init__(f"rate limit for {key!r} reached: {limit} per {window_s:g} s; retry in {retry_after:.2f} s")
        self.key = key
        self.limit = limit
        self.window_s = window_s
        self.retry_after = retry_after


class CorruptValueError(VectorStackError):
    """A stored value could not be decoded (written by something else, or damaged)."""


@dataclass(frozen=True)
class FailedBatch:
    """Which records a failed batch held (positions in the caller's input) and why it failed."""

    first: int
    last: int
    error: str


class BatchWriteError(VectorStackError):
    """Some batches of a write failed; the others were written. Lists exactly which records failed."""

    def __init__(
        self, operation: str, written: int, failed: Sequence[FailedBatch], *, failed_keys: Sequence[str] = ()
    ) -> None:
        ranges = ", ".join(f"records {f.first}-{f.last}: {f.error}" for f in failed[:5])
        more = f" (and {len(failed) - 5} more batches)" if len(failed) > 5 else ""
        super().__init__(f"{operation}: {written} records written, {len(failed)} batches failed: {ranges}{more}")
        self.written = written
        self.failed = list(failed)
        # Keyed stores (the cache) also name the keys, so a caller can retry exactly those.
        self.failed_keys = list(failed_keys)
