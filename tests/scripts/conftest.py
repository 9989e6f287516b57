"""Run the repository's shell scripts and lib.sh functions from pytest."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_script(
    path: str | Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a script with NO_COLOR and the given DEVPUSH_* overrides; capture output."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        ["bash", str(path), *args], capture_output=True, text=True, env=full_env, timeout=300
    )


def lib(snippet: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Source scripts/lib.sh, then run a bash snippet."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        ["bash", "-c", f'set -Eeuo pipefail; source "{REPO}/scripts/lib.sh"; {snippet}'],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
    )
