"""The Dockerfiles pass BuildKit's parser and `docker build --check` rules."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.compose.conftest import REPO

DOCKERFILES = [
    "Docker/Dockerfile.app",
    "Docker/Dockerfile.app.dev",
    "Docker/runner/Dockerfile.python",
    "Docker/runner/Dockerfile.node",
]


def test_dockerfiles_pass_buildkit_checks(validator: Path) -> None:
    proc = subprocess.run(
        [str(validator), "dockerfile", *DOCKERFILES], capture_output=True, text=True, cwd=REPO
    )
    assert proc.returncode == 0, proc.stderr


def test_checker_catches_a_bad_dockerfile(validator: Path, tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM alpine AS Build\nCMD echo hi\n")
    proc = subprocess.run([str(validator), "dockerfile", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "StageNameCasing" in proc.stderr
    assert "JSONArgsRecommended" in proc.stderr


def test_app_image_is_non_root_and_uv_locked() -> None:
    text = (REPO / "Docker/Dockerfile.app").read_text()
    assert "uv sync --frozen --no-dev" in text
    assert "USER devpush" in text
    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2
