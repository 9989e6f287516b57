"""Make real git repositories in tests (the worker clones them like any other)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity; its stdout, stripped."""
    return subprocess.run(
        ["git", "-c", "user.name=devpush-tests", "-c", "user.email=tests@localhost", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
