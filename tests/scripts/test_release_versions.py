"""Release versions in scripts/lib.sh and the scripts that take one: shape and order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.scripts.conftest import REPO, lib, run_script
from tests.scripts.releases import fake_release

INSTALL = REPO / "scripts/prod/install.sh"
UPDATE = REPO / "scripts/prod/update.sh"
APPLY = REPO / "scripts/prod/update-apply.sh"

GOOD = ["0.1.2", "1.0.0", "10.20.30", "1.0.0-rc.1", "1.0.0-rc.10", "0.0.0"]
BAD = [
    "", "1.0", "1", "v1.0.0", "1.0.0-rc1", "1.0.0-beta.1", "1.0.0-rc.", "01.0.0", "1.0.0-rc.01",
    "1.0.0 ", " 1.0.0", "1.0.0\n", "1.0.0+build", "latest", "../../1.0.0", "1.0.0;rm -rf /",
    "1.0.0-rc.1-rc.2", "1.2.3.4",
]  # fmt: skip


@pytest.mark.parametrize("version", GOOD)
def test_release_versions(version: str) -> None:
    assert lib('is_release_version "$V"', env={"V": version}).returncode == 0


@pytest.mark.parametrize("version", BAD)
def test_not_release_versions(version: str) -> None:
    assert lib('is_release_version "$V"', env={"V": version}).returncode == 1


def test_release_order() -> None:
    ordered = ["0.1.9", "0.1.10", "1.0.0-rc.1", "1.0.0-rc.2", "1.0.0-rc.10", "1.0.0", "1.0.1"]
    for i, a in enumerate(ordered):
        for j, b in enumerate(ordered):
            out = lib('release_cmp "$A" "$B"', env={"A": a, "B": b}).stdout.strip()
            assert out == str((i > j) - (i < j)), (a, b, out)
    assert lib("release_cmp 1.0 1.0.0").returncode == 2


def test_upgrade_hooks_in_release_order(tmp_path: Path) -> None:
    for name in ("0.9.0", "1.0.0-rc.1", "1.0.0-rc.2", "1.0.0-rc.10", "1.0.0", "1.0.1", "notes"):
        (tmp_path / f"{name}.sh").write_text("")
    proc = lib(f"upgrade_hooks {tmp_path} 0.9.0 1.0.0")
    assert [Path(p).name for p in proc.stdout.split()] == [
        "1.0.0-rc.1.sh",
        "1.0.0-rc.2.sh",
        "1.0.0-rc.10.sh",
        "1.0.0.sh",
    ]
    assert "notes.sh: its name is not a release version" in proc.stderr
    # From a candidate to its release: only what came after the candidate.
    out = lib(f"upgrade_hooks {tmp_path} 1.0.0-rc.2 1.0.0").stdout.split()
    assert [Path(p).name for p in out] == ["1.0.0-rc.10.sh", "1.0.0.sh"]


def _snapshot(root: Path) -> list[tuple[str, float]]:
    return sorted((str(p), p.stat().st_mtime) for p in root.rglob("*"))


@pytest.mark.parametrize("version", ["1.0.0-rc1", "v0.1.3", "0.1", "0.1.3-beta"])
def test_scripts_refuse_a_bad_version_before_any_change(tmp_path: Path, version: str) -> None:
    data, app = tmp_path / "data", tmp_path / "app"
    data.mkdir()
    app.mkdir()
    (data / "version").write_text("0.1.2\n")
    env = {"DEVPUSH_DATA_ROOT": str(data), "DEVPUSH_APP_DIR": str(app)}
    before = _snapshot(tmp_path)
    release = fake_release(tmp_path / "rel", {})
    apply = release / "scripts/prod/update-apply.sh"
    expected = "is not a devpush release version: X.Y.Z, or X.Y.Z-rc.N"
    for script, args in [
        (UPDATE, ("--version", version, "--all")),
        (apply, ("--to", version, "--all")),  # not a dry run: it would copy and restart
        (apply, ("--from", version, "--to", "0.1.3", "--all")),
        (INSTALL, ("--dry-run", "--version", version)),
    ]:
        proc = run_script(script, *args, env={**env, "PATH": os.environ["PATH"]})
        assert proc.returncode == 2, (script, args, proc.stdout, proc.stderr)
        assert f"'{version}' {expected}" in proc.stderr, (script, args, proc.stderr)
        assert "==>" not in proc.stdout, (script, args, proc.stdout)
    rel = str(tmp_path / "rel")
    assert [p for p in _snapshot(tmp_path) if not p[0].startswith(rel)] == before


def test_a_bad_installed_version_is_named(tmp_path: Path) -> None:
    data, app = tmp_path / "data", tmp_path / "app"
    data.mkdir()
    app.mkdir()
    (data / "version").write_text("0.1.x\n")
    env = {"DEVPUSH_DATA_ROOT": str(data), "DEVPUSH_APP_DIR": str(app)}
    proc = run_script(APPLY, "--to", "0.1.3", "--hooks-only", env=env)
    assert proc.returncode == 2
    assert f"the installed version (--from or {data}/version) '0.1.x'" in proc.stderr
