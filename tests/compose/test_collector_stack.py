"""docker-stack.collector.yml: the collector on every host of a swarm (a global service),
checked as the Compose files are: through the docker CLI's own loader, no engine needed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from devpush_dev.otelcol import FEATURE_GATES, CollectorEnv, collector_argv
from tests.compose.conftest import REPO, stack_config, stack_service

STACK = REPO / "docker-stack.collector.yml"
OTELCOL_CONFIG = REPO / "Docker/otelcol/config.yaml"
NEEDED = {"DEVPUSH_COLLECTOR_IMAGE": "collector:1", CollectorEnv.VICTORIALOGS_URL: "http://vl:9428"}


@pytest.fixture(scope="module")
def collector() -> dict[str, Any]:
    return stack_service(STACK, NEEDED, "otelcol")


def test_one_collector_per_host_naming_its_host(collector: dict[str, Any]) -> None:
    assert collector["deploy"]["mode"] == "global"
    assert collector["image"] == "collector:1"
    env = collector["environment"]
    assert env[CollectorEnv.HOST] == "{{.Node.Hostname}}"
    assert env[CollectorEnv.VICTORIALOGS_URL] == "http://vl:9428"
    # The same feature gates as Compose's, the local run's and the tests' collector.
    local = collector_argv(binary=Path("otelcol"))
    assert collector["command"] == ["--config=/etc/otelcol-contrib/config.yaml", *local[2:]]
    assert f"--feature-gates={','.join(FEATURE_GATES)}" in collector["command"]
    # Root without any capability (Docker's log files are root's, mode 0640).
    assert (collector["user"], collector["cap_drop"]) == ("0:0", ["ALL"])
    # No published port, on the host's network: its metrics and health stay on loopback.
    assert "ports" not in collector
    assert env[CollectorEnv.METRICS_HOST] == "127.0.0.1"


def test_it_reads_the_hosts_logs_and_the_repositorys_config(collector: dict[str, Any]) -> None:
    mounts = {m["target"]: m for m in collector["volumes"]}
    logs = mounts["/var/lib/docker/containers"]
    assert (logs["type"], logs["source"], logs.get("read_only")) == (
        "bind", "/var/lib/docker/containers", True,
    )  # fmt: skip
    assert mounts["/var/lib/otelcol"]["type"] == "volume"
    stack = yaml.safe_load(STACK.read_text())
    assert (REPO / stack["configs"]["otelcol-config"]["file"]).resolve() == OTELCOL_CONFIG
    assert collector["configs"][0]["target"] == "/etc/otelcol-contrib/config.yaml"


def test_it_sets_only_what_the_collector_config_reads(collector: dict[str, Any]) -> None:
    text = OTELCOL_CONFIG.read_text()
    refs = {name for name, _ in re.findall(r"\$\{env:([A-Z0-9_]+)(:-[^}]*)?\}", text)}
    assert f'env("{CollectorEnv.HOST}")' in text
    # CollectorEnv names exactly what config.yaml reads (the host: in an operator's condition).
    assert refs | {CollectorEnv.HOST} == set(CollectorEnv)
    assert set(collector["environment"]) <= set(CollectorEnv)


@pytest.mark.parametrize("missing", sorted(NEEDED))
def test_a_missing_setting_fails_clearly(missing: str) -> None:
    done = stack_config(STACK, {k: v for k, v in NEEDED.items() if k != missing}, NEEDED)
    assert done.returncode != 0
    assert f"{missing} is not set" in done.stderr
