"""Poll a readiness check with exponential backoff until it passes, the process dies or time runs out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


class NotReady(Exception):
    """Raised by a readiness check: the service is not ready yet (the message says why)."""


@dataclass(frozen=True)
class Backoff:
    """Start fast (most servers here are ready in well under a second), back off to spare a slow machine."""

    initial: float = 0.02
    factor: float = 1.6
    maximum: float = 1.0

    def delays(self) -> Callable[[], float]:
        current = self.initial

        def next_delay() -> float:
            nonlocal current
            delay = current
            current = min(current * self.factor, self.maximum)
            return delay

        return next_delay


@dataclass
class WaitResult:
    ready: bool
    seconds: float
    attempts: int
    last_error: str
    died: bool = False


def wait_until(
    check: Callable[[], None],
    timeout: float,
    *,
    alive: Callable[[], bool] | None = None,
    backoff: Backoff | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitResult:
    """Run `check` until it returns without raising.

    Any exception counts as "not ready yet": during startup servers refuse connections, reset them or
    answer with errors, and all of that is expected. `alive` lets the caller stop early when the process
    has exited, instead of waiting the whole timeout for a server that will never come.
    """
    next_delay = (backoff or Backoff()).delays()
    start = clock()
    attempts = 0
    last_error = "not checked yet"
    while True:
        attempts += 1
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - every failure means "not ready yet"
            last_error = f"{type(exc).__name__}: {exc}"
        else:
            return WaitResult(True, clock() - start, attempts, "")
        if alive is not None and not alive():
            return WaitResult(False, clock() - start, attempts, last_error, died=True)
        elapsed = clock() - start
        if elapsed >= timeout:
            return WaitResult(False, elapsed, attempts, last_error)
        sleep(min(next_delay(), max(timeout - elapsed, 0.0)))
