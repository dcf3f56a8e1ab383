"""Waiting in tests: one `eventually` for every suite, instead of fixed sleeps or loops written by hand.

Servers answer when they answer: a fixed sleep is either too short on a busy CI runner or wasted time on a
laptop. `eventually` polls a check until it holds, and when the time runs out it fails the test saying what
was awaited and what the check last returned (or raised), so a timeout is never a bare "assert False".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import pytest
import tenacity

T = TypeVar("T")


def _truthy(value: object) -> bool:
    return bool(value)


def eventually(
    check: Callable[[], T],
    what: str,
    *,
    timeout: float = 30.0,
    interval: float = 0.25,
    until: Callable[[T], object] = _truthy,
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `check` every `interval` seconds until `until(value)` holds (by default: the value is truthy),
    and return that value; after `timeout` seconds fail the test with `what` and the last value or error.

    Only the exception types in `ignoring` mean "not yet" (e.g. a collection the worker has not created
    yet); any other exception is a bug and fails the test at once, with its own traceback.
    """
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_delay(timeout),
        wait=tenacity.wait_fixed(interval),
        retry=tenacity.retry_if_exception_type(ignoring) | tenacity.retry_if_result(lambda value: not until(value)),
        reraise=False,
    )
    try:
        return retrying(check)
    except tenacity.RetryError as gave_up:
        _fail(what, timeout, gave_up.last_attempt)


def _fail(what: str, timeout: float, attempt: tenacity.Future) -> NoReturn:
    last: Any = attempt.exception() if attempt.failed else attempt.result()
    shown = repr(last)
    if len(shown) > 600:
        shown = shown[:600] + "..."
    pytest.fail(f"waited {timeout:g} s for {what}; the last check gave {shown}", pytrace=False)


__all__ = ["eventually"]
