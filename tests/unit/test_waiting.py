"""The suites' one waiting helper: it returns what it waited for, and a timeout says what and why."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from ..waiting import eventually


def test_returns_the_first_value_that_holds() -> None:
    values = iter([0, [], 3, 4])
    assert eventually(lambda: next(values), "a truthy value", interval=0) == 3
    counts = iter(range(10))
    assert eventually(lambda: next(counts), "the count to reach 5", interval=0, until=lambda n: n >= 5) == 5


def test_a_timeout_fails_with_what_was_awaited_and_the_last_value() -> None:
    started = time.monotonic()
    with pytest.raises(pytest.fail.Exception, match=r"waited 0\.3 s for the queue to drain; the last check gave \[7\]"):
        eventually(lambda: [7], "the queue to drain", timeout=0.3, interval=0.05, until=lambda v: v == [])
    assert time.monotonic() - started < 5


def test_only_the_named_errors_mean_not_yet() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("not up yet")
        return "up"

    assert eventually(flaky, "the server", interval=0, ignoring=(ConnectionError,)) == "up"
    with pytest.raises(pytest.fail.Exception, match=r"the last check gave ConnectionError\('down'\)"):
        eventually(_raise(ConnectionError("down")), "the server", timeout=0.2, interval=0.05, ignoring=(OSError,))
    started = time.monotonic()
    with pytest.raises(KeyError, match="bug"):
        eventually(_raise(KeyError("bug")), "the server", timeout=30, ignoring=(ConnectionError,))
    assert time.monotonic() - started < 5, "a programming error fails at once, not after the timeout"


def _raise(error: Exception) -> Callable[[], object]:
    def check() -> object:
        raise error

    return check
