"""The plugin's fixtures are declared where a user can find and override them, and one on/off reading
of INTEGRATION_TEST_CLEANUP holds everywhere."""

from __future__ import annotations

import inspect

import pytest

import testservices.plugin
from testservices.settings import SuiteKnobs
from testservices.specs import SPECS
from vectorstack.config import env_bool
from vectorstack.flags import FlagError, parse_flag


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_service_has_a_declared_documented_fixture(name: str) -> None:
    source = inspect.getsource(testservices.plugin)
    assert f"def {name}_service(" in source, f"{name}_service must be declared with def, so grep finds it"
    fixture = getattr(testservices.plugin, f"{name}_service")
    assert inspect.getdoc(fixture), f"{name}_service needs a docstring: `pytest --fixtures` shows it"


def test_a_conftest_can_override_a_service_fixture(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest
        from testservices.state import Endpoint

        @pytest.fixture(scope="session")
        def redis_service():
            return Endpoint("redis", "external", {"REDIS_HOST": "10.0.0.9"}, "10.0.0.9", 6390)
        """
    )
    pytester.makepyfile(
        """
        def test_uses_mine(redis_service):
            assert redis_service.port == 6390
        """
    )
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_pytest_fixtures_lists_them(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--fixtures", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*milvus_service*", "*MILVUS_URI*", "*smtp_service*"])


@pytest.mark.parametrize(
    ("raw", "cleanup"),
    [("", True), ("  ", True), ("false", False), ("0", False), ("No", False), ("true", True), ("1", True)],
)
def test_cleanup_reads_the_same_in_the_harness_and_the_library(raw: str, cleanup: bool) -> None:
    """An empty INTEGRATION_TEST_CLEANUP means the default (clean up), as the noxfile reads it: it used to
    keep services in the harness and clean up in the noxfile."""
    env = {"INTEGRATION_TEST_CLEANUP": raw}
    assert SuiteKnobs.from_env(env).cleanup is cleanup
    assert env_bool(env, "INTEGRATION_TEST_CLEANUP", True) is cleanup
    assert parse_flag(env, "INTEGRATION_TEST_CLEANUP", True) is cleanup


def test_a_word_that_is_neither_on_nor_off_is_refused_with_the_choices() -> None:
    with pytest.raises(FlagError, match=r"INTEGRATION_TEST_CLEANUP='maybe'.*true or false"):
        parse_flag({"INTEGRATION_TEST_CLEANUP": "maybe"}, "INTEGRATION_TEST_CLEANUP", True)


def test_the_noxfile_reads_cleanup_with_the_shared_parser() -> None:
    from pathlib import Path

    noxfile = (Path(__file__).parents[2] / "noxfile.py").read_text()
    assert 'parse_flag(os.environ, "INTEGRATION_TEST_CLEANUP", True)' in noxfile
    assert '("0", "false", "no")' not in noxfile
