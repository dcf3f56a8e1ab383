"""Files that hold credentials are never readable by anyone else, not even for a moment."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from testservices.private_files import write_private
from testservices.state import Registry, ServiceRecord


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask of 0: a file created without an explicit mode would be world-readable (and writable)."""
    old = os.umask(0)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_write_private_creates_0600_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "creds"
    write_private(path, "secret")
    assert _mode(path) == 0o600
    path.chmod(0o644)
    write_private(path, "again")
    assert _mode(path) == 0o600
    assert path.read_text() == "again"


@pytest.mark.usefixtures("open_umask")
def test_a_record_file_is_created_0600(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry's temporary file must have 0600 whenever anyone can see it: its mode is taken each time
    the harness touches it again (a later chmod, the rename into place)."""
    registry = Registry(tmp_path)
    record = ServiceRecord("redis", "i1", "local", {"REDIS_PASSWORD": "p"}, "127.0.0.1", 1)
    modes: list[int] = []
    real_replace, real_chmod = Path.replace, Path.chmod

    def replace(self: Path, target: str | os.PathLike[str]) -> Path:
        modes.append(_mode(self))
        return real_replace(self, target)

    def chmod(self: Path, mode: int, *, follow_symlinks: bool = True) -> None:
        modes.append(_mode(self))
        real_chmod(self, mode, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(Path, "replace", replace)
    monkeypatch.setattr(Path, "chmod", chmod)
    registry.save(record)
    assert modes, "the record was never moved into place"
    assert set(modes) == {0o600}, f"the record file existed with mode {oct(max(modes))}"
    assert _mode(registry.path_of("redis", "i1")) == 0o600


def test_a_record_from_an_older_version_still_loads(tmp_path: Path) -> None:
    """Unknown keys (an older record's `launch`) are dropped, so the reaper still finds its process."""
    registry = Registry(tmp_path)
    registry.records_dir.mkdir(parents=True)
    registry.path_of("redis", "old").write_text(
        '{"name": "redis", "instance": "old", "backend": "local", "env": {}, "host": "127.0.0.1", '
        '"port": 1, "pid": 4242, "pid_created": 1.0, "launch": {"argv": ["x"]}}'
    )
    [record] = registry.records()
    assert (record.pid, record.command) == (4242, {})
