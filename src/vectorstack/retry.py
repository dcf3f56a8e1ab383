"""The library's one retry policy: which failures are worth another try, how long to wait, when to give up.

- Worth another try ("transient") is decided once, on the library's own errors: an error whose
  `transient` is true (`ServiceUnavailableError`, `ServerError`, or an instance a driver translator marked
  from the driver's own retriable flag). A `BatchWriteError` is as transient as the error behind it.
  Everything else (refused credentials, a missing collection, input the server rejects) fails the same
  way on every try, so it is raised at once, after one call.
- Back-off is exponential from `FIRST_BACKOFF` s, doubling, capped at `MAX_BACKOFF` s.
- Giving up: after `attempts` calls; without it, never while the error stays transient (the ingest worker
  waits out an outage, however long, and ends only when stopped or on a fatal error).

Milvus calls are not retried here: pymilvus already retries each RPC that failed for want of a server
(`retry_on_rpc_failure`) within the deadline the connection gives every call, and one layer is enough
(see `vectorstack.milvus.connection`). What pymilvus does not retry, connecting, goes through this policy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_never,
    wait_exponential,
)
from tenacity.stop import stop_base

from vectorstack.errors import BatchWriteError, VectorStackError

FIRST_BACKOFF = 0.2
MAX_BACKOFF = 5.0
T = TypeVar("T")


def is_transient(exc: BaseException) -> bool:
    """True when the same call may succeed later unchanged; only the library's own errors are judged
    (translate a driver's error first: its types and codes are the translator's business)."""
    if isinstance(exc, BatchWriteError) and exc.__cause__ is not None:
        return is_transient(exc.__cause__)
    return isinstance(exc, VectorStackError) and exc.transient


def policy(
    *,
    attempts: int | None = None,
    max_backoff: float = MAX_BACKOFF,
    sleep: Callable[[float], None] = time.sleep,
    before_sleep: Callable[[RetryCallState], None] | None = None,
) -> Retrying:
    """A tenacity `Retrying` that follows the policy: call it with the function to run. The last error is
    re-raised as itself (not wrapped), a non-transient one at once. `sleep` may raise to abandon the wait
    (the ingest worker does when it is stopped); `before_sleep` sees each failure that will be retried."""
    stop: stop_base = stop_never if attempts is None else stop_after_attempt(max(attempts, 1))
    return Retrying(
        retry=retry_if_exception(is_transient),
        wait=wait_exponential(multiplier=FIRST_BACKOFF, max=max_backoff),  # 0.2, 0.4, 0.8 ... max_backoff
        stop=stop,
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )


def call(fn: Callable[[], T], *, attempts: int | None = None) -> T:
    """Run `fn` under the policy (see `policy`)."""
    return policy(attempts=attempts)(fn)
