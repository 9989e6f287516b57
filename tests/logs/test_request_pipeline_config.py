"""The request-log parts of both collectors' configs agree with the app: the access log
they read, the names they store, and the upstream names they read the deployment from."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from devpush.core.config import Settings
from devpush.core.labels import (
    HOST_LABEL,
    LOG_LABELS,
    REQUEST_FIELDS,
    REQUEST_SOURCE,
    SOURCE_LABEL,
)
from devpush.resolver.names import RouteLabels, decode_branch, route_name, runner_name
from devpush.services import proxy_config
from devpush_dev import alloy, otelcol

OTELCOL: dict[str, Any] = yaml.safe_load(otelcol.CONFIG.read_text())
ALLOY = alloy.CONFIG.read_text()
#: Where Compose mounts the proxy's access logs (docker-compose.yml).
COMPOSE_ACCESS_LOG = "/var/log/devpush-proxy/access.log"


def _operators() -> list[dict[str, Any]]:
    return list(OTELCOL["receivers"]["file_log/requests"]["operators"])


def _otelcol_regex() -> re.Pattern[str]:
    (upstream,) = [op for op in _operators() if op.get("id") == "upstream"]
    return re.compile(upstream["regex"])


def _alloy_regex() -> re.Pattern[str]:
    match = re.search(r'source\s*=\s*"upstream"\s*\n\s*expression\s*=\s*"(.+)"\n', ALLOY)
    assert match, "config.alloy reads no upstream"
    # An Alloy string: "\\." is the regex's "\.".
    return re.compile(match.group(1).replace("\\\\", "\\"))


def test_both_read_the_access_log_compose_mounts_and_the_starters_set() -> None:
    include = OTELCOL["receivers"]["file_log/requests"]["include"]
    default = f"${{env:{otelcol.CollectorEnv.ACCESS_LOGS}:-/var/log/devpush-proxy/access*.log}}"
    assert include == [default]
    assert f'sys.env("{alloy.ACCESS_LOGS_ENV}"), "/var/log/devpush-proxy/access*.log"' in ALLOY
    assert otelcol.access_logs_glob(Path(COMPOSE_ACCESS_LOG)) == (
        "/var/log/devpush-proxy/access*.log"
    )
    assert "file_log/requests" in OTELCOL["service"]["pipelines"]["logs"]["receivers"]


def test_otelcol_stores_exactly_the_contracts_fields() -> None:
    (retain,) = [op for op in _operators() if op["type"] == "retain"]
    kept = set(retain["fields"])
    assert kept == {f"attributes.{name}" for name in (*LOG_LABELS, SOURCE_LABEL)} | {
        f'attributes["{name}"]' for name in REQUEST_FIELDS.values()
    }
    (source,) = [op for op in _operators() if op.get("field") == f"attributes.{SOURCE_LABEL}"]
    assert source["value"] == REQUEST_SOURCE
    # The fields Caddy's entries gain (proxy_config) are the ones read.
    text = otelcol.CONFIG.read_text()
    assert f"attributes.{proxy_config.UPSTREAM_FIELD}" in text
    assert f"attributes.{proxy_config.PATH_FIELD}" in text
    headers = OTELCOL["exporters"]["otlp_http/victorialogs"]["headers"]
    assert headers["VL-Stream-Fields"].split(",") == [
        *LOG_LABELS, "stream", SOURCE_LABEL, HOST_LABEL,
    ]  # fmt: skip


def test_otelcol_names_the_host_only_when_its_service_sets_one() -> None:
    runner_ops = OTELCOL["receivers"]["file_log"]["operators"]
    (host,) = [op for op in runner_ops if op.get("id") == "host"]
    assert host["field"] == f"resource.{HOST_LABEL}"
    assert host["if"] == f'env("{otelcol.CollectorEnv.HOST}") != ""'
    # After the runner receiver's retain (which would keep the resource anyway).
    assert runner_ops.index(host) > runner_ops.index(
        next(o for o in runner_ops if o["type"] == "retain")
    )


def test_alloy_reads_the_fields_caddy_adds_and_labels_requests() -> None:
    assert f'"{proxy_config.UPSTREAM_FIELD}"' in ALLOY
    assert f'"{proxy_config.PATH_FIELD}"' in ALLOY
    assert f'"{SOURCE_LABEL}"   = "{REQUEST_SOURCE}"' in ALLOY
    for name in REQUEST_FIELDS:
        assert f'\\"{name}\\"' in ALLOY, name  # a key of the JSON line


def test_both_read_the_deployment_from_the_resolvers_names() -> None:
    labels = RouteLabels(
        project_id="a" * 32, environment_id="b" * 32, branch="feature/ü-x", deployment_id="c" * 32
    )
    for regex in (_otelcol_regex(), _alloy_regex()):
        for name in (route_name("10.0.0.7", labels), route_name("10.0.0.7", labels).rstrip(".")):
            match = regex.fullmatch(name)
            assert match, (regex.pattern, name)
            assert match["project_id"] == labels.project_id
            assert match["environment_id"] == labels.environment_id
            assert match["deployment_id"] == labels.deployment_id
            branch = match.groupdict().get("branch") or match.groupdict().get("branch_labels")
            assert branch is not None and decode_branch(branch) == labels.branch
        no_branch = route_name("10.0.0.7", dataclasses.replace(labels, branch=""))
        assert regex.fullmatch(no_branch) is not None
        # Caddy's own 404 server and a bare runner name: no deployment, the platform's.
        assert regex.fullmatch(runner_name(proxy_config.NOT_FOUND_ADDRESS)) is None
        assert regex.fullmatch(runner_name("10.0.0.7")) is None


def test_compose_points_the_proxy_at_the_mounted_file() -> None:
    text = (otelcol.REPO_ROOT / "docker-compose.yml").read_text()
    assert f"DEVPUSH_PROXY_ACCESS_LOG: {COMPOSE_ACCESS_LOG}" in text
    assert Settings(proxy_access_log=COMPOSE_ACCESS_LOG).proxy_access_log == COMPOSE_ACCESS_LOG
