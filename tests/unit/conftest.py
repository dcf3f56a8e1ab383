from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testservices import specs
from testservices.manager import Owner, ServiceManager
from testservices.settings import Settings

from .fake_service import HttpSpec


@pytest.fixture
def fake_spec(monkeypatch: pytest.MonkeyPatch) -> HttpSpec:
    spec = HttpSpec()
    monkeypatch.setitem(specs.SPECS, spec.name, spec)
    return spec


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        backend="local",
        home=tmp_path / "home",
        startup_timeout=20.0,
    )


@pytest.fixture
def manager(settings: Settings, fake_spec: HttpSpec) -> Iterator[ServiceManager]:
    mgr = ServiceManager(settings=settings, owner=Owner.from_env(), run_id="unit-run")
    yield mgr
    # Whatever a test left, stop it: the harness's own tests must not leak servers either.
    mgr.remove(mgr.records())
