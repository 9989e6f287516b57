"""A release tree to run the update scripts from, for the update and versions tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.scripts.conftest import REPO


def fake_release(root: Path, hooks: dict[str, str]) -> Path:
    """A release tree: the real scripts, with these upgrade hooks instead of the real ones."""
    release = root / "devpush-9.9.9"
    shutil.copytree(REPO / "scripts", release / "scripts")
    upgrades = release / "scripts/prod/upgrades"
    shutil.rmtree(upgrades)
    upgrades.mkdir()
    for version, body in hooks.items():
        (upgrades / f"{version}.sh").write_text(f"#!/usr/bin/env bash\n{body}\n")
    return release
