"""docker-compose.override.dev.yml layered on the production file."""

from __future__ import annotations

from typing import Any

import pytest

from tests.compose.conftest import LoadCompose
from tests.compose.files import binds


@pytest.fixture(scope="module")
def dev(load_compose: LoadCompose) -> dict[str, Any]:
    return load_compose("docker-compose.yml", "docker-compose.override.dev.yml")


def test_same_services_as_prod(dev: dict[str, Any], load_compose: LoadCompose) -> None:
    assert set(dev["services"]) == set(load_compose("docker-compose.yml")["services"])


def test_alloy_mirrors_prod_with_local_state(dev: dict[str, Any]) -> None:
    alloy = dev["services"]["alloy"]
    assert binds(alloy) == {
        "/var/lib/docker/containers": ("/var/lib/docker/containers", True),
        "/etc/alloy/config.alloy": ("./Docker/alloy/config.alloy", True),
        "/var/lib/alloy": ("./data/alloy", False),
        "/var/log/devpush-proxy": ("./data/caddy/logs", True),
    }
    assert "--storage.path=/var/lib/alloy/data" in alloy["command"]
    assert alloy["image"] == "grafana/alloy:v1.11.3"
    assert set(alloy["networks"]) >= {"internal", "default"}


def test_no_production_paths_in_dev(dev: dict[str, Any]) -> None:
    for name, service in dev["services"].items():
        for source, _ in binds(service).values():
            assert not source.startswith("/srv/devpush"), name


def test_app_live_reload(dev: dict[str, Any]) -> None:
    app = dev["services"]["app"]
    assert "--reload" in app["command"]
    assert binds(app)["/app/devpush"] == ("./devpush", False)
    assert app["environment"]["DEVPUSH_ENVIRONMENT"] == "development"


def test_worker_restarts_on_change(dev: dict[str, Any]) -> None:
    worker = dev["services"]["worker"]
    assert worker["command"][0] == "watchfiles"
    assert "python -m devpush.workers" in worker["command"]
    assert binds(worker)["/app/devpush"] == ("./devpush", False)
    # Still only the worker's door to Docker.
    assert worker["environment"]["DEVPUSH_DOCKER_HOST"] == "tcp://docker-proxy-worker:2375"


def test_resolver_restarts_on_change(dev: dict[str, Any]) -> None:
    for name in ("resolver", "resolver-2"):
        resolver = dev["services"][name]
        assert resolver["command"][0] == "watchfiles"
        assert "python -m devpush.resolver --listen 0.0.0.0:5353" in resolver["command"]
        assert binds(resolver)["/app/devpush"] == ("./devpush", False)
