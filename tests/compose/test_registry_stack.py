"""docker-stack.registry.yml: the registry devpush runs in swarm mode, checked through the
docker CLI's own loader (no engine needed), and pinned to the tests' registry's version."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest
import yaml

from devpush_dev.binaries import read_versions
from tests.compose.conftest import REPO

STACK = REPO / "docker-stack.registry.yml"
NEEDED = {"DEVPUSH_REGISTRY_IMAGE": "registry:9", "DEVPUSH_SWARM_REGISTRY": "10.0.0.1:5000"}


def stack_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in NEEDED}
    return subprocess.run(
        ["docker", "stack", "config", "-c", str(STACK)],
        env={**clean, **env}, capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def service() -> dict[str, Any]:
    done = stack_config(NEEDED)
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = yaml.safe_load(done.stdout)["services"]["registry"]
    return loaded


def test_one_registry_on_the_manager_on_the_private_address(service: dict[str, Any]) -> None:
    assert service["image"] == "registry:9"
    assert service["environment"]["REGISTRY_HTTP_ADDR"] == "10.0.0.1:5000"
    assert service["deploy"]["replicas"] == 1
    assert service["deploy"]["placement"]["constraints"] == ["node.role == manager"]
    assert service["networks"] == {"hostnet": None}
    assert "ports" not in service


def test_its_data_is_on_a_volume(service: dict[str, Any]) -> None:
    (mount,) = service["volumes"]
    assert (mount["type"], mount["source"], mount["target"]) == (
        "volume", "registry-data", "/var/lib/registry",
    )  # fmt: skip
    assert (
        service["environment"]["REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY"] == "/var/lib/registry"
    )


@pytest.mark.parametrize("missing", sorted(NEEDED))
def test_it_refuses_to_load_without_its_settings(missing: str) -> None:
    done = stack_config({k: v for k, v in NEEDED.items() if k != missing})
    assert done.returncode != 0
    assert f"{missing} is not set" in done.stderr


def test_the_pinned_version_is_a_release_of_the_registry() -> None:
    version = read_versions()["REGISTRY_VERSION"]
    assert version.count(".") == 2 and not version.startswith("v")
    assert "registry@v$version" in (REPO / "scripts/dev/registry-pinned.sh").read_text()
