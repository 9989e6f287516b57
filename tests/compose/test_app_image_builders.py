"""Docker/Dockerfile.app builds from a clean clone with either builder: the classic one
and BuildKit. Each takes its bases from the local images (build args PYTHON_IMAGE and
UV_IMAGE, made by scripts/dev/prod-images.sh), pulls nothing, and gets a build context
under 20 MB (.dockerignore keeps the virtualenv, caches and git data out)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compose.stack import REPO, run

pytestmark = pytest.mark.docker

BASES = {"PYTHON_IMAGE": "devpush/python:local", "UV_IMAGE": "devpush/uv:local"}
MAX_CONTEXT_BYTES = 20_000_000
UNITS = {"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9}
# What a builder prints when it fetches a base from a registry.
PULLED = re.compile(r"Pulling from|resolve docker\.io|pull access denied", re.I)


def docker_clis() -> list[Path]:
    """Every distinct ``docker`` on PATH, in PATH order."""
    found: list[Path] = []
    for directory in os.environ["PATH"].split(os.pathsep):
        path = Path(directory) / "docker"
        executable = path.is_file() and os.access(path, os.X_OK)
        if executable and all(not path.samefile(seen) for seen in found):
            found.append(path)
    return found


def buildkit_cli() -> Path:
    """A docker CLI that builds with BuildKit: one with the buildx plugin, or one older
    than 23.0 (BuildKit was built into the CLI until then; Debian 12's docker.io is 20.10)."""
    tried = []
    for cli in docker_clis():
        if run([str(cli), "buildx", "version"], timeout=30).returncode == 0:
            return cli
        version = run([str(cli), "version", "--format", "{{.Client.Version}}"], timeout=30)
        major = re.match(r"\d+", version.stdout.strip())
        if major and int(major.group()) < 23:
            return cli
        tried.append(f"{cli} ({version.stdout.strip() or version.stderr.strip()}, no buildx)")
    pytest.fail(f"no docker CLI builds with BuildKit: {', '.join(tried) or 'none on PATH'}")


def context_bytes(output: str) -> float:
    """The build context's size as the builder reported it."""
    sizes = re.findall(
        r"(?:Sending build context to Docker daemon|transferring context:)\s+([\d.]+)\s*([kKMG]?B)",
        output,
    )
    assert sizes, f"the builder reported no context size:\n{output[-3000:]}"
    return max(float(number) * UNITS[unit] for number, unit in sizes)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A clean clone of the repository's HEAD: no virtualenv, caches or local files."""
    for image in BASES.values():
        inspected = run(["docker", "image", "inspect", image], timeout=30)
        assert inspected.returncode == 0, f"{image} is missing: run scripts/dev/prod-images.sh"
    path = tmp_path_factory.mktemp("clone") / "devpush"
    proc = run(["git", "clone", "--quiet", str(REPO), str(path)], timeout=120)
    assert proc.returncode == 0, proc.stderr
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def build(cli: Path, clone: Path, *, buildkit: bool) -> None:
    tag = f"devpush/app:builder-test-{uuid.uuid4().hex[:8]}"
    args = [str(cli), "build", "-f", "Docker/Dockerfile.app", "-t", tag]
    if buildkit:
        args += ["--progress", "plain"]
    for name, image in BASES.items():
        args += ["--build-arg", f"{name}={image}"]
    env = {**os.environ, "DOCKER_BUILDKIT": "1" if buildkit else "0"}
    try:
        proc = subprocess.run(
            [*args, "."], capture_output=True, text=True, timeout=900, env=env, cwd=clone
        )
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output[-6000:]
        assert not PULLED.search(output), output[-6000:]
        assert context_bytes(output) < MAX_CONTEXT_BYTES
        # The image holds the app and its dependencies.
        check = run(
            ["docker", "run", "--rm", "--network", "none", tag,
             "python", "-c", "import devpush.main, uvicorn"],
            timeout=120,
        )  # fmt: skip
        assert check.returncode == 0, check.stderr
    finally:
        run(["docker", "image", "rm", tag], timeout=120)


def test_the_classic_builder_builds_the_app_image_from_a_clean_clone(clone: Path) -> None:
    build(Path(shutil.which("docker") or "docker"), clone, buildkit=False)


def test_buildkit_builds_the_app_image_from_a_clean_clone(clone: Path) -> None:
    build(buildkit_cli(), clone, buildkit=True)
