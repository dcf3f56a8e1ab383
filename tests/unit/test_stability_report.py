"""How `nox -s stability` reads a run: failing test ids from the session's JUnit report, and its table row."""

from __future__ import annotations

from pathlib import Path

from benchmarks.stability import SessionStats, failing_tests

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="4" failures="1" errors="1" skipped="1">
<testcase classname="tests.redis.test_a" name="test_ok" time="0.1"/>
<testcase classname="tests.redis.test_a" name="test_bad" time="0.1"><failure message="boom"/></testcase>
<testcase classname="tests.redis.test_b" name="test_setup" time="0.1"><error message="fixture"/></testcase>
<testcase classname="tests.redis.test_b" name="test_skipped" time="0.0"><skipped message="no"/></testcase>
</testsuite></testsuites>
"""


def test_failed_and_errored_tests_are_named_skipped_ones_are_not(tmp_path: Path) -> None:
    junit = tmp_path / "junit-redis.xml"
    junit.write_text(REPORT)
    count, failed = failing_tests(junit)
    assert count == 4
    assert failed == ["tests.redis.test_a::test_bad", "tests.redis.test_b::test_setup"]


def test_a_session_that_never_reached_pytest_is_a_failure(tmp_path: Path) -> None:
    count, failed = failing_tests(tmp_path / "missing.xml")
    assert count == 0
    assert failed == ["<no JUnit report: the session failed before pytest ran>"]


def test_the_row_shows_runs_passes_median_spread_and_leftovers() -> None:
    stats = SessionStats("redis", walls=[20.0, 30.0, 25.0], passes=2, tests=[86, 86, 86])
    stats.leftovers.append("pid 1 valkey-server")
    assert stats.row().split() == ["redis", "3", "2", "1", "86", "25.0", "20-30", "1"]
