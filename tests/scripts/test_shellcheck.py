"""Every shell script in the repository is shellcheck-clean."""

from __future__ import annotations

import shutil
import subprocess

from tests.scripts.conftest import REPO


def shell_scripts() -> list[str]:
    # Tracked and new (not ignored) files, so a script is checked before its first commit.
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.sh"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout
    return sorted({line for line in out.splitlines() if (REPO / line).is_file()})


def test_shellcheck_every_script() -> None:
    assert shutil.which("shellcheck"), "shellcheck missing: run scripts/dev/test-deps.sh"
    scripts = shell_scripts()
    assert "scripts/lib.sh" in scripts
    assert "scripts/prod/upgrades/0.1.2.sh" in scripts
    proc = subprocess.run(["shellcheck", "-x", *scripts], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_scripts_are_strict_and_executable() -> None:
    for script in shell_scripts():
        path = REPO / script
        first = path.read_text().splitlines()[0]
        if first == "# shellcheck shell=bash":  # sourced libraries
            continue
        assert first == "#!/usr/bin/env bash", script
        assert "set -E" in path.read_text(), script
        assert path.stat().st_mode & 0o111, f"{script} is not executable"
