"""The example app (``examples/hello-python``) as a git repository of its own."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Final

from devpush.models import Project, Team
from devpush_dev.binaries import REPO_ROOT

EXAMPLE_APP: Final = REPO_ROOT / "examples" / "hello-python"
#: The runner image the example runs on (built locally by scripts/dev/images.sh).
RUNNER_IMAGE: Final = "devpush/runner-python:local"
_IDENTITY: Final = ("-c", "user.name=devpush", "-c", "user.email=devpush@localhost")


def example_repo(dest: Path, *, message: str = "Hello devpush") -> Path:
    """A copy of the example app at ``dest`` (created) with one commit on ``main``."""
    shutil.copytree(EXAMPLE_APP, dest)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", message]):
        subprocess.run(
            ["git", *_IDENTITY, *args], cwd=dest, check=True, capture_output=True, timeout=30
        )
    return dest


def example_project(repo: Path, team: Team, label: str, *, name: str = "Hello") -> Project:
    """A project (not in a session yet) that builds and runs the example app from ``repo``,
    named by ``label`` (its slug and host label)."""
    return Project(
        team=team,
        name=name,
        slug=label,
        host_label=label,
        repo_url=str(repo),
        default_branch="main",
        runner_image=RUNNER_IMAGE,
        build_command="python3 build.py",
        start_command="python3 app.py",
        port=8000,
    )
