"""docker-compose.victorialogs.yml: the VictoriaLogs log stack layered on production.

DEVPUSH_LOG_STORE=victorialogs in .env makes the scripts add this file
(scripts/lib.sh, compose_files); the default stack (Alloy -> Loki) stays as it was.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from devpush_dev.otelcol import FEATURE_GATES, CollectorEnv, collector_argv
from tests.compose.conftest import REPO, LoadCompose, run_compose
from tests.compose.files import PROD, binds, versions
from tests.compose.stack import VICTORIALOGS_SERVICES

VL = "docker-compose.victorialogs.yml"
DEV = "docker-compose.override.dev.yml"
VL_DEV = "docker-compose.victorialogs.dev.yml"
OTELCOL_CONFIG = REPO / "Docker/otelcol/config.yaml"
STORE_URL = "http://victorialogs:9428"


@pytest.fixture(scope="module")
def vl(load_compose: LoadCompose) -> dict[str, Any]:
    return load_compose(PROD, VL)


@pytest.fixture(scope="module")
def vl_dev(load_compose: LoadCompose) -> dict[str, Any]:
    return load_compose(PROD, DEV, VL, VL_DEV)


def test_services(vl: dict[str, Any]) -> None:
    # Alloy, Loki and Alloy's proxy door are not started: the collector reads files only.
    assert set(vl["services"]) == VICTORIALOGS_SERVICES


def test_images_from_versions_env(vl: dict[str, Any]) -> None:
    pinned = versions()
    services = vl["services"]
    assert services["victorialogs"]["image"] == (
        f"victoriametrics/victoria-logs:{pinned['VICTORIALOGS_VERSION']}"
    )
    assert services["otelcol"]["image"] == (
        f"otel/opentelemetry-collector-contrib:{pinned['OTELCOL_VERSION']}"
    )
    for name in ("victorialogs", "otelcol"):
        assert not services[name]["image"].endswith((":", ":latest")), name


@pytest.mark.parametrize("variable", ["VICTORIALOGS_VERSION", "OTELCOL_VERSION"])
def test_missing_version_fails_clearly(
    validator: Path, secrets_env: str, tmp_path: Path, variable: str
) -> None:
    # versions.env without that one line: Compose stops instead of pulling ":".
    lines = (REPO / "versions.env").read_text().splitlines()
    partial = tmp_path / "versions.env"
    partial.write_text("\n".join(ln for ln in lines if not ln.startswith(f"{variable}=")) + "\n")
    proc = run_compose(validator, PROD, VL, env_files=(str(partial), secrets_env), env={})
    assert proc.returncode != 0
    assert f"required variable {variable} is missing a value" in proc.stderr
    assert "pass --env-file versions.env" in proc.stderr


def test_victorialogs_service(vl: dict[str, Any]) -> None:
    store = vl["services"]["victorialogs"]
    assert list(store["networks"]) == ["internal"]
    assert "ports" not in store
    assert binds(store) == {"/victoria-logs-data": ("/srv/devpush/victorialogs", False)}
    assert "-storageDataPath=/victoria-logs-data" in store["command"]
    assert "-retentionPeriod=31d" in store["command"]
    assert "-httpListenAddr=:9428" in store["command"]
    assert store["restart"] == "unless-stopped"
    test = store["healthcheck"]["test"]
    assert test[0] == "CMD"
    assert test[-1] == "http://127.0.0.1:9428/health"


def test_otelcol_service(vl: dict[str, Any]) -> None:
    collector = vl["services"]["otelcol"]
    assert list(collector["networks"]) == ["internal"]
    assert "ports" not in collector
    assert binds(collector) == {
        "/var/lib/docker/containers": ("/var/lib/docker/containers", True),
        "/etc/otelcol-contrib/config.yaml": ("./Docker/otelcol/config.yaml", True),
        "/var/lib/otelcol": ("/srv/devpush/otelcol", False),
        "/var/log/devpush-proxy": ("/srv/devpush/caddy/logs", True),
    }
    # The proxy's access log is group 10001's (request logs).
    assert collector["group_add"] == ["10001"]
    # The same feature gates as the local run's and the tests' collector.
    local = collector_argv(binary=Path("otelcol"))
    assert collector["command"] == ["--config=/etc/otelcol-contrib/config.yaml", *local[2:]]
    assert f"--feature-gates={','.join(FEATURE_GATES)}" in collector["command"]
    assert collector["restart"] == "unless-stopped"
    env = collector["environment"]
    assert env[CollectorEnv.CONTAINERS_DIR] == "/var/lib/docker/containers"
    assert env[CollectorEnv.STATE_DIR] == "/var/lib/otelcol"
    assert env[CollectorEnv.VICTORIALOGS_URL] == STORE_URL
    # Root, to read Docker's 0640 root files, but with no capability at all.
    assert collector["user"] == "0:0"
    assert collector["cap_drop"] == ["ALL"]
    assert "cap_add" not in collector
    assert collector["depends_on"]["victorialogs"]["condition"] == "service_healthy"


def test_otelcol_config_reads_only_what_compose_sets(vl: dict[str, Any]) -> None:
    assert OTELCOL_CONFIG.is_file(), f"{OTELCOL_CONFIG} is missing"
    # ${env:NAME} or ${env:NAME:-default}: the names without a default must be set here.
    refs = re.findall(r"\$\{env:([A-Z0-9_]+)(:-[^}]*)?\}", OTELCOL_CONFIG.read_text())
    assert refs, "the collector config reads no environment variable"
    required = {name for name, default in refs if not default}
    env = set(vl["services"]["otelcol"]["environment"])
    assert required <= env
    # And Compose sets nothing the config does not read (a renamed variable shows here).
    assert env <= {name for name, _ in refs}


def test_app_and_worker_read_victorialogs(vl: dict[str, Any]) -> None:
    services = vl["services"]
    for name in ("app", "worker"):
        env = services[name]["environment"]
        assert env["DEVPUSH_LOG_STORE"] == "victorialogs", name
        assert env["DEVPUSH_LOG_STORE_URL"] == STORE_URL, name
        # Everything else is the production definition.
        assert env["DEVPUSH_QUEUE_URL"] == "redis://redis:6379/0", name
    depends = services["app"]["depends_on"]
    assert depends["victorialogs"]["condition"] == "service_healthy"
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert "loki" not in depends
    assert services["worker"]["environment"]["DEVPUSH_DOCKER_HOST"] == (
        "tcp://docker-proxy-worker:2375"
    )


def test_the_app_reads_the_collectors_queue_on_the_internal_network(vl: dict[str, Any]) -> None:
    # The log views warn when the collector's queue is full (devpush/services/collector.py).
    services = vl["services"]
    config = OTELCOL_CONFIG.read_text()
    port = re.search(rf"{CollectorEnv.METRICS_PORT}:-(\d+)", config)
    host = re.search(rf"{CollectorEnv.METRICS_HOST}:-([0-9.]+)", config)
    assert port and host, "config.yaml's metrics address has no Compose default"
    assert host.group(1) == "0.0.0.0"  # reachable from the app's container
    url = services["app"]["environment"]["DEVPUSH_LOG_COLLECTOR_METRICS_URL"]
    assert url == f"http://otelcol:{port.group(1)}/metrics"
    assert "internal" in services["otelcol"]["networks"]
    assert "internal" in services["app"]["networks"]
    assert "ports" not in services["otelcol"]
    # The worker waits for the collector before it repairs a killed store (store_repair.py).
    assert services["worker"]["environment"]["DEVPUSH_LOG_COLLECTOR_METRICS_URL"] == url
    assert "internal" in services["worker"]["networks"]


def test_no_docker_api_for_the_collector(vl: dict[str, Any]) -> None:
    for name, service in vl["services"].items():
        if not name.startswith("docker-proxy-"):
            assert "/var/run/docker.sock" not in binds(service), name
        assert "docker-alloy" not in service["networks"], name
        if name != "worker" and name != "docker-proxy-worker":
            assert "docker-worker" not in service["networks"], name


def test_only_the_app_publishes_a_port(vl: dict[str, Any]) -> None:
    published = {name for name, service in vl["services"].items() if service.get("ports")}
    # And the proxy, which serves the deployments (tests/compose/test_compose_proxy.py).
    assert published == {"app", "proxy"}
    assert vl["services"]["app"]["ports"][0]["host_ip"] == "127.0.0.1"


def test_every_long_running_service_restarts(vl: dict[str, Any]) -> None:
    for name, service in vl["services"].items():
        expected = "no" if name == "migrate" else "unless-stopped"
        assert service.get("restart") == expected, name


def test_default_stack_is_unchanged(load_compose: LoadCompose) -> None:
    prod = load_compose(PROD)
    services = prod["services"]
    assert {"loki", "alloy", "docker-proxy-alloy"} <= set(services)
    assert not {"victorialogs", "otelcol"} & set(services)
    for name in ("app", "worker"):
        env = services[name]["environment"]
        assert env["DEVPUSH_LOG_STORE"] == "loki", name
        assert env["DEVPUSH_LOG_STORE_URL"] == "http://loki:3100", name
    assert services["app"]["depends_on"]["loki"]["condition"] == "service_healthy"


def test_dev_mirrors_with_local_state(vl_dev: dict[str, Any], vl: dict[str, Any]) -> None:
    services = vl_dev["services"]
    assert set(services) == set(vl["services"])
    assert binds(services["victorialogs"]) == {
        "/victoria-logs-data": ("./data/victorialogs", False),
    }
    assert binds(services["otelcol"]) == {
        "/var/lib/docker/containers": ("/var/lib/docker/containers", True),
        "/etc/otelcol-contrib/config.yaml": ("./Docker/otelcol/config.yaml", True),
        "/var/lib/otelcol": ("./data/otelcol", False),
        "/var/log/devpush-proxy": ("./data/caddy/logs", True),
    }
    for name, service in services.items():
        for source, _ in binds(service).values():
            assert not source.startswith("/srv/devpush"), name
    assert services["app"]["environment"]["DEVPUSH_ENVIRONMENT"] == "development"
    assert services["app"]["environment"]["DEVPUSH_LOG_STORE"] == "victorialogs"
    assert "--reload" in services["app"]["command"]
