"""The example app (``examples/hello-python``) as a git repository of its own."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Final

from devpush_dev.binaries import REPO_ROOT

EXAMPLE_APP: Final = REPO_ROOT / "examples" / "hello-python"
_IDENTITY: Final = ("-c", "user.name=devpush", "-c", "user.email=devpush@localhost")


def example_repo(dest: Path, *, message: str = "Hello devpush") -> Path:
    """A copy of the example app at ``dest`` (created) with one commit on ``main``."""
    shutil.copytree(EXAMPLE_APP, dest)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", message]):
        subprocess.run(
            ["git", *_IDENTITY, *args], cwd=dest, check=True, capture_output=True, timeout=30
        )
    return dest
