"""The library's one retry policy (vectorstack.retry): what it retries, how it backs off, when it gives up."""

from __future__ import annotations

import pytest

from vectorstack.errors import (
    AuthenticationError,
    BatchWriteError,
    CollectionNotFoundError,
    FailedBatch,
    InvalidInputError,
    ServerError,
    ServiceUnavailableError,
    VectorStackError,
)
from vectorstack.retry import FIRST_BACKOFF, is_transient, policy


class Flaky:
    """Raises the given errors in turn, then returns "done"; counts the calls."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def unreachable() -> ServiceUnavailableError:
    return ServiceUnavailableError("milvus", "127.0.0.1:1", 1.0, "connection refused")


def test_transient_errors_are_retried_with_growing_backoff_until_they_stop() -> None:
    waits: list[float] = []
    flaky = Flaky(unreachable(), unreachable(), unreachable())
    assert policy(attempts=5, max_backoff=0.5, sleep=waits.append)(flaky) == "done"
    assert flaky.calls == 4
    assert waits == [FIRST_BACKOFF, FIRST_BACKOFF * 2, 0.5], "doubling from FIRST_BACKOFF, capped"


def test_transient_errors_are_given_up_after_the_attempt_limit_with_the_last_error() -> None:
    last = unreachable()
    flaky = Flaky(unreachable(), unreachable(), last, unreachable())
    with pytest.raises(ServiceUnavailableError) as raised:
        policy(attempts=3, sleep=lambda _s: None)(flaky)
    assert raised.value is last, "the error itself, not tenacity's RetryError"
    assert flaky.calls == 3


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationError("refused"),
        CollectionNotFoundError("docs"),
        InvalidInputError("bad"),
        VectorStackError("something else"),
        KeyError("a programming error"),
    ],
)
def test_errors_that_retrying_cannot_fix_are_raised_at_once(error: Exception) -> None:
    waits: list[float] = []
    flaky = Flaky(error)
    with pytest.raises(type(error)):
        policy(attempts=10, sleep=waits.append)(flaky)
    assert flaky.calls == 1
    assert waits == []


def test_what_counts_as_transient_is_decided_by_the_library_errors() -> None:
    assert is_transient(unreachable())
    assert is_transient(ServerError("busy loading"))
    assert not is_transient(CollectionNotFoundError("docs"))
    assert not is_transient(ConnectionRefusedError())  # a driver's error must be translated first
    marked = VectorStackError("node not ready")
    marked.transient = True  # as a translator marks one from the driver's retriable flag
    assert is_transient(marked)
    outage = BatchWriteError("upsert", 0, [FailedBatch(0, 9, "unreachable")])
    outage.__cause__ = unreachable()
    assert is_transient(outage), "a batch that failed for an outage is as transient as the outage"
    refused = BatchWriteError("upsert", 0, [FailedBatch(0, 9, "bad")])
    refused.__cause__ = InvalidInputError("bad")
    assert not is_transient(refused)


def test_a_sleep_that_raises_abandons_the_wait() -> None:
    class Stop(Exception):
        pass

    def sleep(_seconds: float) -> None:
        raise Stop

    flaky = Flaky(unreachable())
    with pytest.raises(Stop):
        policy(sleep=sleep)(flaky)
    assert flaky.calls == 1
