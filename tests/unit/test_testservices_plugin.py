"""The pytest plugin seen from a test suite: names, cleanup, markers (services come in tests/redis)."""

from __future__ import annotations

import pytest


def test_unique_names_are_distinct_and_safe(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import re
        def test_names(unique_name):
            names = {unique_name("My Collection!"), unique_name("My Collection!"), unique_name("9lives")}
            assert len(names) == 3
            for name in names:
                assert re.fullmatch(r"[a-z][a-z0-9_]{0,47}", name), name
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_cleanup_runs_every_action_last_first_and_reports_failures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        order = []
        def test_uses_cleanup(cleanup):
            cleanup(order.append, "first")
            cleanup(lambda: 1 / 0)
            cleanup(order.append, "last")
        def test_order_was_reversed():
            assert order == ["last", "first"]
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*cleanup failed:*", "*ZeroDivisionError*"])


def test_service_fixtures_mark_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_a(request, redis_service):
            pass
        """
    )
    result = pytester.runpytest("--collect-only", "-q", "-m", "redis and integration", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*test_a*"])
