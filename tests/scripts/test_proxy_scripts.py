"""The proxy (Caddy) in the production scripts: its directories and its update component."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scripts.conftest import REPO, lib, run_script

INSTALL = REPO / "scripts/prod/install.sh"
APPLY = REPO / "scripts/prod/update-apply.sh"
START = REPO / "scripts/dev/start.sh"


def test_install_creates_the_proxy_state_for_the_app_uid(tmp_path: Path) -> None:
    os_release = tmp_path / "os-release"
    os_release.write_text('ID=ubuntu\nVERSION_ID="24.04"\n')
    root = tmp_path / "srv"
    env = {
        "DEVPUSH_DATA_ROOT": str(root),
        "DEVPUSH_APP_DIR": str(tmp_path / "opt"),
        "DEVPUSH_OS_RELEASE": str(os_release),
    }
    proc = run_script(INSTALL, "--dry-run", env=env)
    assert proc.returncode == 0, proc.stderr
    for sub in ("data", "config", "admin"):
        assert f"+ install -d -m 0700 -o 10001 -g 10001 {root}/caddy/{sub}\n" in proc.stdout


@pytest.mark.parametrize("stack", ["loki", "victorialogs"])
def test_proxy_is_a_component_of_every_stack(stack: str) -> None:
    env = {"DEVPUSH_LOG_STORE": stack}
    assert "proxy" in lib("stack_components", env=env).stdout.split()
    assert lib("component_services proxy", env=env).stdout.split() == ["proxy"]


def test_updating_the_proxy_restarts_only_it(tmp_path: Path) -> None:
    dirs = {
        "DEVPUSH_DATA_ROOT": str(tmp_path / "srv"),
        "DEVPUSH_APP_DIR": str(REPO),
    }
    proc = run_script(APPLY, "--from", "0.1.2", "--to", "0.1.2", "proxy", "--dry-run", env=dirs)
    assert proc.returncode == 0, proc.stderr
    assert "pull proxy" in proc.stdout
    up = next(line for line in proc.stdout.splitlines() if " up -d " in line)
    assert up.endswith("up -d --no-deps --wait proxy")
    assert "migrate" not in proc.stdout


def test_dev_start_makes_the_proxy_state() -> None:
    proc = run_script(START, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert f"-o 10001 -g 10001 {REPO}/data/caddy" in proc.stdout
