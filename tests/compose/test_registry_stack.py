"""docker-stack.registry.yml: the registry devpush runs in swarm mode, checked through the
docker CLI's own loader (no engine needed), and pinned to the tests' registry's version."""

from __future__ import annotations

from typing import Any

import pytest

from devpush_dev.binaries import read_versions
from tests.compose.conftest import REPO, stack_config, stack_service

STACK = REPO / "docker-stack.registry.yml"
NEEDED = {"DEVPUSH_REGISTRY_IMAGE": "registry:9", "DEVPUSH_SWARM_REGISTRY": "10.0.0.1:5000"}


@pytest.fixture(scope="module")
def service() -> dict[str, Any]:
    return stack_service(STACK, NEEDED, "registry")


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
    done = stack_config(STACK, {k: v for k, v in NEEDED.items() if k != missing}, NEEDED)
    assert done.returncode != 0
    assert f"{missing} is not set" in done.stderr


def test_the_pinned_version_is_a_release_of_the_registry() -> None:
    version = read_versions()["REGISTRY_VERSION"]
    assert version.count(".") == 2 and not version.startswith("v")
    # The script builds the registry's command at that version: `go install <package>@v<version>`.
    script = (REPO / "scripts/dev/go-tool.sh").read_text()
    assert "REGISTRY_VERSION github.com/distribution/distribution/v3/cmd/registry" in script
    assert '"$package@v$version"' in (REPO / "scripts/lib.sh").read_text()
