"""The harness itself on a real Redis: failure reports carry the server's log, and reuse across runs."""

from __future__ import annotations

import pytest

from testservices.state import Endpoint

pytestmark = [pytest.mark.integration, pytest.mark.redis]


def test_failing_test_report_shows_the_tail_of_the_redis_log(
    pytester: pytest.Pytester, redis_service: Endpoint
) -> None:
    if redis_service.log_path is None:
        pytest.skip("an external server's log is not the harness's to read")
    # The inner run inherits this run's id and owner, so it reuses this run's Redis instead of starting one.
    pytester.makepyfile(
        """
        def test_deliberately_fails(redis_service):
            assert redis_service.port > 0
            assert False, "deliberate failure"
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--service-log-lines", "15")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"*redis log (last 15 lines of {redis_service.log_path})*",
            "*Ready to accept connections*",
        ]
    )


def test_the_service_answers_with_its_per_run_password(redis_service: Endpoint) -> None:
    from testservices.specs.redis import RespError, resp_command

    assert redis_service.host == "127.0.0.1"
    if redis_service.backend == "external":
        pytest.skip("credentials of an external server are the user's, not generated per run")
    password = redis_service.env["REDIS_PASSWORD"]
    assert len(password) >= 32
    assert resp_command(redis_service.host, redis_service.port, "PING", password=password) == "+PONG"
    with pytest.raises(RespError, match=r"NOAUTH|WRONGPASS|Authentication"):
        resp_command(redis_service.host, redis_service.port, "PING", password="wrong")
    with pytest.raises(RespError, match=r"NOAUTH|Authentication"):
        resp_command(redis_service.host, redis_service.port, "SET", "k", "v")
