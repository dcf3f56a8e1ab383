"""The bad-input contract every generated suite checks, in one place.

A public call given invalid arguments must raise one of the library's own error classes (never a driver's
exception, a plain `TypeError`/`ValueError`, a hang or a process abort), and must do so within the
configured timeout. The suites generate the arguments with hypothesis and read the stored data back after
each example to prove it is unchanged; this module holds the part that is the same for every client: the
refusal check, the example count each test reports (JUnit property `bad_input_examples`, summed by
`tests/count_bad_inputs.py` over a full run), and the hypothesis settings that keep the suites bounded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings

from vectorstack.errors import VectorStackError

# Bounded so a service session stays fast; derandomized so a failure reproduces on the next run, and no
# example database is written into the checkout.
BAD_INPUT_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@dataclass
class Refusals:
    """Checks that each bad input is refused as the contract says, and counts the examples checked."""

    within_s: float
    count: int = 0
    classes: dict[str, int] = field(default_factory=dict)

    def check(self, call: Callable[[], object], what: str = "") -> VectorStackError:
        """Run `call`, which must raise a library error within `within_s` seconds; return that error."""
        self.count += 1
        label = what or "bad input"
        start = time.monotonic()
        try:
            result = call()
        except Exception as error:  # noqa: BLE001 - the contract's point: any other class is a defect
            raised: Exception = error
        else:
            pytest.fail(f"{label}: accepted (returned {result!r}); it should have been refused")
        elapsed = time.monotonic() - start
        if not isinstance(raised, VectorStackError):
            pytest.fail(
                f"{label}: raised {type(raised).__module__}.{type(raised).__qualname__} instead of a vectorstack "
                f"error: {raised!r}"
            )
        assert elapsed <= self.within_s, f"{label}: refused after {elapsed:.1f} s, over the {self.within_s:g} s allowed"
        assert str(raised), f"{label}: {type(raised).__name__} with an empty message"
        name = type(raised).__name__
        self.classes[name] = self.classes.get(name, 0) + 1
        return raised


@pytest.fixture
def refusals(request: pytest.FixtureRequest) -> Iterator[Refusals]:
    """A `Refusals` bounded by the library's own timeouts (10 s covers every client's configured call
    timeout in the suites); reports how many bad inputs the test checked."""
    checker = Refusals(within_s=10.0)
    yield checker
    # user_properties reach the JUnit report (also from xdist workers) without record_property's xunit2 warning.
    request.node.user_properties.append(("bad_input_examples", checker.count))
    classes = ",".join(f"{name}={n}" for name, n in sorted(checker.classes.items()))
    request.node.user_properties.append(("bad_input_classes", classes))
