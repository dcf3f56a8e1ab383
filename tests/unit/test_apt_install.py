"""`.ci/apt-install` (used by `.ci/run`, `.ci/docker-engine` and the noxfile) against a stand-in apt-get:
the policy that stops packages from starting daemons holds during the install and is gone afterwards."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / ".ci" / "apt-install"


def run(tmp_path: Path, *packages: str, apt_status: int = 0) -> subprocess.CompletedProcess[str]:
    """Run the script with an apt-get first on PATH that notes, per call, whether a start would be denied."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    apt = bin_dir / "apt-get"
    apt.write_text(
        "#!/bin/sh\n"
        f'if [ -x "$POLICY_RC_D" ] && ! "$POLICY_RC_D"; then echo "$1 denied" >> {tmp_path}/calls; '
        f'else echo "$1 allowed" >> {tmp_path}/calls; fi\n'
        f'[ "$1" = update ] || exit {apt_status}\n'
    )
    apt.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "POLICY_RC_D": str(tmp_path / "policy-rc.d")}
    return subprocess.run(["bash", str(SCRIPT), *packages], env=env, capture_output=True, text=True, timeout=30)


def calls(tmp_path: Path) -> list[str]:
    return (tmp_path / "calls").read_text().splitlines()


def test_daemons_are_denied_during_the_install_and_the_policy_is_removed(tmp_path: Path) -> None:
    result = run(tmp_path, "prometheus")
    assert result.returncode == 0, result.stderr
    assert calls(tmp_path) == ["update denied", "install denied"]
    assert not (tmp_path / "policy-rc.d").exists(), "left in place, every later install would start no daemon"


def test_the_policy_is_removed_when_the_install_fails(tmp_path: Path) -> None:
    result = run(tmp_path, "no-such-package", apt_status=100)
    assert result.returncode == 100
    assert calls(tmp_path) == ["update denied", "install denied"]
    assert not (tmp_path / "policy-rc.d").exists()


@pytest.mark.parametrize("content", ["#!/bin/sh\nexit 0\n", "#!/bin/sh\nexit 101\n"])
def test_a_policy_the_machine_had_is_left_as_it_was(tmp_path: Path, content: str) -> None:
    policy = tmp_path / "policy-rc.d"
    policy.write_text(content)
    policy.chmod(0o755)
    assert run(tmp_path, "prometheus").returncode == 0
    assert policy.read_text() == content


def test_the_noxfile_installs_through_the_script() -> None:
    """One implementation of the guard: the noxfile once wrote its own policy-rc.d and never removed it."""
    noxfile = (Path(__file__).parents[2] / "noxfile.py").read_text()
    assert '".ci" / "apt-install"' in noxfile
    assert 'policy-rc.d")' not in noxfile
