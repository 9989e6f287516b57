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


def make_repo(path: Path, *, branch: str = "main") -> Path:
    """A one-commit repository at ``path`` (created), on ``branch``."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "app.py").write_text("print('hello')\n")
    git(path, "init", "-q", "-b", branch)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "First")
    return path
