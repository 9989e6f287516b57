"""docker-compose.yml (production), point by point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.compose.conftest import REPO, LoadCompose, run_compose
from tests.compose.files import PROD, binds, versions
from tests.compose.stack import CORE_SERVICES


@pytest.fixture(scope="module")
def prod(load_compose: LoadCompose) -> dict[str, Any]:
    return load_compose(PROD)


def test_services(prod: dict[str, Any]) -> None:
    assert set(prod["services"]) == CORE_SERVICES | {"docker-proxy-alloy", "loki", "alloy"}


def test_networks(prod: dict[str, Any]) -> None:
    nets = prod["networks"]
    assert nets["default"]["name"] == "devpush_default"
    assert nets["internal"].get("internal") is True
    # No runner network of Compose's: the worker makes one per project (docs/network.md).
    assert "runner" not in nets
    assert nets["resolver"]["name"] == "devpush_resolver"
    assert nets["resolver"].get("internal") is True
    for door in ("docker-worker", "docker-alloy"):
        assert nets[door].get("internal") is True


def test_runner_network_matches_settings(prod: dict[str, Any]) -> None:
    from devpush.core.config import Settings

    worker = prod["services"]["worker"]["environment"]
    assert worker["DEVPUSH_RUNNER_NETWORK"] == Settings().runner_network


def test_alloy_image_from_versions_env(prod: dict[str, Any]) -> None:
    assert versions()["ALLOY_VERSION"] == "v1.11.3"
    assert prod["services"]["alloy"]["image"] == "grafana/alloy:v1.11.3"
    assert prod["services"]["loki"]["image"] == f"grafana/loki:{versions()['LOKI_VERSION']}"


@pytest.mark.parametrize("variable", ["ALLOY_VERSION", "LOKI_VERSION"])
def test_missing_version_fails_clearly(validator: Path, secrets_env: str, variable: str) -> None:
    # Without versions.env, ${ALLOY_VERSION:?...} stops Compose instead of pulling ":".
    proc = run_compose(validator, PROD, env_files=(secrets_env,), env={})
    assert proc.returncode != 0
    assert f"required variable {variable} is missing a value" in proc.stderr
    assert "pass --env-file versions.env" in proc.stderr


def test_missing_postgres_password_fails_clearly(validator: Path) -> None:
    proc = run_compose(validator, PROD, env_files=(str(REPO / "versions.env"),), env={})
    assert proc.returncode != 0
    assert "POSTGRES_PASSWORD is not set" in proc.stderr


def test_alloy_service(prod: dict[str, Any]) -> None:
    alloy = prod["services"]["alloy"]
    assert set(alloy["networks"]) >= {"internal", "default"}
    assert "ports" not in alloy
    assert binds(alloy) == {
        "/var/lib/docker/containers": ("/var/lib/docker/containers", True),
        "/etc/alloy/config.alloy": ("./Docker/alloy/config.alloy", True),
        "/var/lib/alloy": ("/srv/devpush/alloy", False),
        "/var/log/devpush-proxy": ("/srv/devpush/caddy/logs", True),
    }
    assert alloy["command"] == [
        "run",
        "/etc/alloy/config.alloy",
        "--storage.path=/var/lib/alloy/data",
        "--server.http.listen-addr=0.0.0.0:12345",
    ]
    assert alloy["restart"] == "unless-stopped"
    # Alloy reaches Docker only through its own read-only door: config.alloy's
    # default endpoint, which the stack does not override.
    assert "environment" not in alloy
    config = (REPO / "Docker/alloy/config.alloy").read_text()
    assert '"tcp://docker-proxy-alloy:2375"' in config
    assert "docker-proxy-alloy" in prod["services"]
    assert "docker-worker" not in alloy["networks"]


def test_alloy_healthcheck_probes_ready_without_curl(prod: dict[str, Any]) -> None:
    test = prod["services"]["alloy"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "bash", "-c"]
    assert "/dev/tcp/127.0.0.1/12345" in test[3]
    assert "GET /-/ready" in test[3]
    assert "curl" not in test[3]
    assert "wget" not in test[3]


def test_loki_service(prod: dict[str, Any]) -> None:
    loki = prod["services"]["loki"]
    assert list(loki["networks"]) == ["internal"]
    assert "ports" not in loki
    assert binds(loki)["/etc/loki/config.yaml"] == ("./Docker/loki/config.yaml", True)
    data = next(v for v in loki["volumes"] if v["target"] == "/loki")
    assert data["type"] == "volume"
    assert "-config.file=/etc/loki/config.yaml" in loki["command"]
    assert "/ready" in " ".join(loki["healthcheck"]["test"])


def test_two_socket_proxy_doors(prod: dict[str, Any]) -> None:
    services = prod["services"]
    for name, env_file, network in [
        ("docker-proxy-worker", "worker.env", "docker-worker"),
        ("docker-proxy-alloy", "alloy.env", "docker-alloy"),
    ]:
        door = services[name]
        assert door["image"].startswith("tecnativa/docker-socket-proxy:v")
        assert door["image"].split(":")[1] != "latest"
        assert [Path(f["path"]).name for f in door["env_file"]] == [env_file]
        assert (REPO / "Docker/docker-proxy" / env_file).is_file()
        assert list(door["networks"]) == [network]
        assert binds(door)["/var/run/docker.sock"][1] is True
    assert services["worker"]["environment"]["DEVPUSH_DOCKER_HOST"] == (
        "tcp://docker-proxy-worker:2375"
    )
    # Only the worker and Alloy reach a door, each its own.
    for name, service in services.items():
        nets = set(service["networks"])
        if name not in {"worker", "docker-proxy-worker"}:
            assert "docker-worker" not in nets, name
        if name not in {"alloy", "docker-proxy-alloy"}:
            assert "docker-alloy" not in nets, name


def test_alloy_door_is_read_only() -> None:
    env = (REPO / "Docker/docker-proxy/alloy.env").read_text()
    assert "POST=0" in env.splitlines()


def test_app_and_worker(prod: dict[str, Any]) -> None:
    services = prod["services"]
    # Several uvicorn processes: DEVPUSH_WEB_WORKERS, else one per core (at least two).
    shell, flag, script = services["app"]["command"]
    assert (shell, flag) == ("sh", "-c")
    assert script.startswith("exec uvicorn devpush.main:app ")
    assert '--workers "${DEVPUSH_WEB_WORKERS:-' in script
    assert "nproc" in script
    assert services["worker"]["command"] == ["python", "-m", "devpush.workers"]
    for name in ("app", "worker"):
        env = services[name]["environment"]
        assert env["DEVPUSH_DATABASE_URL"].startswith("postgresql+psycopg://devpush:")
        assert env["DEVPUSH_QUEUE_URL"] == "redis://redis:6379/0"
    # The worker is on no runner network: it probes runners through the proxy, which it
    # connects to each project's network (found by its Compose name).
    assert services["worker"]["environment"]["DEVPUSH_RUNNER_ADDRESS"] == "proxy"
    assert services["worker"]["environment"]["DEVPUSH_PROXY_CONTAINER"] == "devpush-proxy-1"
    # The app's port is published on loopback unless the admin says otherwise.
    assert services["app"]["ports"][0]["host_ip"] == "127.0.0.1"


def test_every_long_running_service_restarts(prod: dict[str, Any]) -> None:
    for name, service in prod["services"].items():
        expected = "no" if name == "migrate" else "unless-stopped"
        assert service.get("restart") == expected, name


def test_migrations_run_once_before_app_and_worker(prod: dict[str, Any]) -> None:
    services = prod["services"]
    assert services["migrate"]["command"] == ["devpush", "admin", "migrate"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("app", "worker"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def test_images_are_pinned(prod: dict[str, Any]) -> None:
    for name, service in prod["services"].items():
        image = service["image"]
        assert ":" in image, name
        assert not image.endswith(":latest"), name


def test_setup_stack_is_minimal(load_compose: LoadCompose) -> None:
    setup = load_compose("docker-compose.setup.yml")
    assert set(setup["services"]) == {"app", "postgres", "redis"}
