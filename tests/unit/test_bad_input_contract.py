"""The refusal check itself must fail for every way a call can break the contract, or it proves nothing."""

from __future__ import annotations

import pytest

from tests.bad_input import Refusals
from vectorstack.errors import InvalidInputError


def _raise(error: BaseException) -> None:
    raise error


def test_a_library_error_passes_and_is_counted() -> None:
    checker = Refusals(within_s=5)
    error = checker.check(lambda: _raise(InvalidInputError("dimension must be positive")))
    assert isinstance(error, InvalidInputError)
    assert checker.count == 1
    assert checker.classes == {"InvalidInputError": 1}


@pytest.mark.parametrize("error", [ValueError("plain"), TypeError("plain"), KeyError("k"), RuntimeError("driver")])
def test_a_plain_or_driver_error_fails_the_test(error: BaseException) -> None:
    with pytest.raises(pytest.fail.Exception, match="instead of a vectorstack error"):
        Refusals(within_s=5).check(lambda: _raise(error))


def test_an_accepted_bad_input_fails_the_test() -> None:
    with pytest.raises(pytest.fail.Exception, match="accepted"):
        Refusals(within_s=5).check(lambda: 42)


def test_a_slow_refusal_fails_the_test() -> None:
    def slow() -> None:
        import time

        time.sleep(0.2)
        raise InvalidInputError("late")

    with pytest.raises(AssertionError, match=r"over the 0\.05 s allowed"):
        Refusals(within_s=0.05).check(slow)
