"""scripts/prod/install.sh: get.docker.com shape, distro checks and the dry run."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests.scripts.conftest import REPO, run_script

INSTALL = REPO / "scripts/prod/install.sh"


def os_release(tmp_path: Path, text: str) -> str:
    path = tmp_path / "os-release"
    path.write_text(text)
    return str(path)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "DEVPUSH_DATA_ROOT": str(tmp_path / "srv"),
        "DEVPUSH_APP_DIR": str(tmp_path / "opt"),
        "DEVPUSH_OS_RELEASE": os_release(tmp_path, 'ID=ubuntu\nVERSION_ID="24.04"\n'),
    }


def test_shape_like_get_docker_com() -> None:
    text = INSTALL.read_text()
    assert text.splitlines()[-1] == 'main "$@"'
    assert "What it does not do" in text


def test_installs_the_version_of_its_release() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    match = re.search(r"^DEVPUSH_VERSION=\$\{DEVPUSH_VERSION:-(.+)\}$", INSTALL.read_text(), re.M)
    assert match
    assert match.group(1) == pyproject["project"]["version"]


def test_dry_run_prints_the_steps(env: dict[str, str]) -> None:
    proc = run_script(INSTALL, "--dry-run", env=env)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    root = env["DEVPUSH_DATA_ROOT"]
    assert f"+ install -d -m 0755 {root}/alloy\n" in out
    assert "useradd" in out or "user devpush exists" in out
    assert "/archive/refs/tags/v0.1.2.tar.gz" in out
    assert "main.tar.gz" not in out
    assert f"write {env['DEVPUSH_APP_DIR']}/.env" in out
    assert "up -d --build --wait" in out
    assert "--env-file" in out
    assert "versions.env" in out
    assert "plugin" not in (out + proc.stderr).lower()
    # A dry run changes nothing.
    assert not Path(root).exists()


@pytest.mark.parametrize(
    ("release", "message"),
    [
        ("ID=fedora\nVERSION_ID=40\n", "unsupported distribution 'fedora'"),
        ('ID=ubuntu\nVERSION_ID="20.04"\n', "Ubuntu 20.04 is too old"),
        ("ID=debian\nVERSION_ID=10\n", "Debian 10 is too old"),
    ],
)
def test_refuses_other_distros(
    tmp_path: Path, env: dict[str, str], release: str, message: str
) -> None:
    env["DEVPUSH_OS_RELEASE"] = os_release(tmp_path, release)
    proc = run_script(INSTALL, "--dry-run", env=env)
    assert proc.returncode == 1
    assert message in proc.stderr


def test_help_and_unknown_flags() -> None:
    assert run_script(INSTALL, "--help").returncode == 0
    proc = run_script(INSTALL, "--frobnicate")
    assert proc.returncode == 2
    assert "unknown argument: --frobnicate" in proc.stderr


@pytest.mark.parametrize("script", ["scripts/dev/start.sh", "scripts/dev/stop.sh"])
def test_dev_scripts_dry_run(script: str) -> None:
    proc = run_script(REPO / script, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "docker-compose.override.dev.yml" in proc.stdout
    if script.endswith("start.sh"):
        assert f"mkdir -p {REPO}/data/alloy" in proc.stdout
