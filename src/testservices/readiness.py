"""Wait until a service is ready: retry what means "not up yet", fail at once on anything else.

A server that is still starting refuses or resets connections, times out, or says so in its own words
(its check raises `NotReady`). Anything else a check raises (a `KeyError` in our code, a refused password,
a 4xx answer) will not go away by waiting: it ends the wait at once, with the exception as the cause,
instead of burning the whole startup limit and then blaming a slow machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import tenacity


class NotReady(Exception):
    """Raised by a readiness check: the service is not ready yet (the message says why)."""


# What a check may raise while a server is still starting. The builtin ConnectionError covers refused,
# reset and aborted connections and broken pipes; TimeoutError covers socket timeouts. A spec turns its
# driver's own "not up yet" errors into NotReady (by the driver's types and codes).
TRANSIENT: tuple[type[BaseException], ...] = (NotReady, ConnectionError, TimeoutError)


@dataclass(frozen=True)
class Backoff:
    """Start fast (most servers here are ready in well under a second), back off to spare a slow machine."""

    initial: float = 0.02
    factor: float = 1.6
    maximum: float = 1.0

    def delay(self, attempt: int) -> float:
        """The pause after the `attempt`-th failed check (1-based)."""
        return float(min(self.initial * self.factor ** (attempt - 1), self.maximum))


@dataclass
class WaitResult:
    ready: bool
    seconds: float
    attempts: int
    last_error: str
    died: bool = False
    # Set when the check failed in a way waiting cannot fix: the start fails at once with it as the cause.
    error: BaseException | None = None

    def reason(self) -> str:
        """Why the service is not ready, for a ServiceStartError."""
        if self.error is not None:
            return (
                f"its readiness check failed with {type(self.error).__name__}: {self.error} (not a sign of a slow "
                "start, so the harness did not wait for more)"
            )
        if self.died:
            return "the process exited during startup"
        return (
            f"not ready after {self.seconds:.1f} s ({self.attempts} checks; last: {self.last_error}); "
            "raise TESTSERVICES_STARTUP_TIMEOUT if this machine is slow"
        )


def wait_until(
    check: Callable[[], None],
    timeout: float,
    *,
    alive: Callable[[], bool] | None = None,
    backoff: Backoff | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitResult:
    """Run `check` until it returns without raising, retrying only TRANSIENT errors.

    `alive` lets the caller stop early when the process has exited, instead of waiting the whole timeout
    for a server that will never come. `clock` and `sleep` are injectable so the policy is tested without
    waiting.
    """
    policy = backoff or Backoff()
    start = clock()

    def gone(state: tenacity.RetryCallState) -> bool:
        return clock() - start >= timeout or (alive is not None and not alive())

    def pause(state: tenacity.RetryCallState) -> float:
        return max(min(policy.delay(state.attempt_number), timeout - (clock() - start)), 0.0)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(TRANSIENT),
        stop=gone,
        wait=pause,
        sleep=sleep,
    )
    try:
        retrying(check)
    except tenacity.RetryError as exc:
        last = exc.last_attempt
        error = last.exception()
        died = alive is not None and not alive()
        return WaitResult(False, clock() - start, last.attempt_number, f"{type(error).__name__}: {error}", died=died)
    except Exception as exc:  # noqa: BLE001 - not transient: handed to the caller as the cause
        attempts = retrying.statistics.get("attempt_number", 1)
        return WaitResult(False, clock() - start, attempts, f"{type(exc).__name__}: {exc}", error=exc)
    return WaitResult(True, clock() - start, retrying.statistics.get("attempt_number", 1), "")
