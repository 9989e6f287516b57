"""Load the Compose files with compose-go (the loader of ``docker compose``).

``docker compose`` is not installed here; scripts/dev/go-tool.sh compose-validator builds a
small validator on compose-go and BuildKit's Dockerfile frontend and caches it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml

from tests.compose.stack import (
    ComposeStack,
    make_stack,
    next_app_image,
    provision,
    remove_deployments,
    remove_runner_networks,
    run,
    sample_repo,
)

REPO = Path(__file__).resolve().parents[2]

LoadCompose = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def validator() -> Path:
    proc = subprocess.run(
        [str(REPO / "scripts/dev/go-tool.sh"), "compose-validator"], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.fail(f"could not build the Compose validator:\n{proc.stderr}")
    return Path(proc.stdout.strip())


def run_compose(
    validator: Path, *files: str, env_files: tuple[str, ...], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    args = [str(validator), "compose", "--no-env-resolution"]
    for env_file in env_files:
        args += ["--env-file", env_file]
    for file in files:
        args += ["-f", str(REPO / file)]
    # A clean environment: only what the test passes decides interpolation.
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **env}
    return subprocess.run(args, capture_output=True, text=True, env=clean, cwd=REPO)


def stack_config(
    stack: Path, env: dict[str, str], unset: Collection[str]
) -> subprocess.CompletedProcess[str]:
    """`docker stack config` of the swarm stack file STACK: the docker CLI's own loader, no
    engine needed. ENV's values are set and UNSET's names are cleared from this
    environment, so only the test decides them."""
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        ["docker", "stack", "config", "-c", str(stack)],
        env={**clean, **env}, capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip


def stack_service(stack: Path, env: dict[str, str], name: str) -> dict[str, Any]:
    """The service NAME of the stack file STACK as `docker stack config` loads it with ENV."""
    done = stack_config(stack, env, unset=env)
    assert done.returncode == 0, done.stderr
    service: dict[str, Any] = yaml.safe_load(done.stdout)["services"][name]
    return service


@pytest.fixture(scope="session")
def secrets_env(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("env") / "test.env"
    path.write_text("POSTGRES_PASSWORD=test-password\n")
    return str(path)


@pytest.fixture(scope="session")
def load_compose(validator: Path, secrets_env: str) -> LoadCompose:
    """Load files as the scripts do: --env-file versions.env --env-file .env."""

    def load(*files: str) -> dict[str, Any]:
        proc = run_compose(
            validator, *files, env_files=(str(REPO / "versions.env"), secrets_env), env={}
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    return load


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    """The production stack run for real (tests/compose/stack.py), one for this package
    (tests/compose/__init__.py makes it one): the modules that use it run in order on it,
    and it goes down after them, not at the end of the whole suite."""
    provision()
    root = tmp_path_factory.mktemp("compose-install")
    stack = make_stack(root, f"devpush-e2e-{uuid.uuid4().hex[:8]}")
    sample_repo(stack.data_root)
    client = docker.from_env()
    try:
        stack.up()
        yield stack
    finally:
        try:
            remove_deployments(stack, client)
        finally:
            stack.compose("down", "--volumes", "--remove-orphans", "--timeout", "5", timeout=180)
            remove_runner_networks(stack, client)
            # The update test's tag only (the image itself is devpush/app:local).
            run(["docker", "image", "rm", next_app_image(stack)], timeout=60)
            client.close()
            shutil.rmtree(root, ignore_errors=True)
