"""Which log a failing test's report shows: its own instances' logs, and the shared service's log."""

from __future__ import annotations

import pytest

from testservices.state import Endpoint

pytestmark = [pytest.mark.integration, pytest.mark.redis]


def test_a_later_failing_test_shows_the_shared_log_not_an_earlier_private_one(
    pytester: pytest.Pytester, redis_service: Endpoint
) -> None:
    """A private instance started (and removed) by one test must not take the shared service's place in
    the report of a later failing test on the same worker."""
    if redis_service.log_path is None:
        pytest.skip("an external server's log is not the harness's to read")
    pytester.makepyfile(
        """
        def test_0_shared_passes(redis_service):
            pass  # the shared instance is acquired (and cached for the session) first

        def test_1_private_fails(private_service):
            own = private_service("redis")
            print("PRIVATE_LOG", own.endpoint.log_path)
            assert False, "fails with its own instance"

        def test_2_shared_fails(redis_service):
            assert False, "fails on the shared instance"
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:randomly", "--service-log-lines", "5")
    result.assert_outcomes(passed=1, failed=2)
    text = result.stdout.str()
    first, second = text.split("test_2_shared_fails", 1)[0], text.split("_ test_2_shared_fails _", 1)[1]
    private_log = next(line.split()[1] for line in text.splitlines() if line.startswith("PRIVATE_LOG"))
    assert private_log != str(redis_service.log_path)
    assert f"redis (this test's own) log (last 5 lines of {private_log})" in first
    assert f"redis log (last 5 lines of {redis_service.log_path})" in second
    assert private_log not in second, "the removed private instance's log was shown for a later test"
