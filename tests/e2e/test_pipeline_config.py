"""The pipeline configs agree with the app: one place for labels, limits and endpoints."""

from __future__ import annotations

import re

import yaml

from devpush.core.config import Settings
from devpush.core.labels import LABEL_PREFIX, LOG_LABELS, LOKI_JOB, RUNNER_SELECTOR_LABEL
from devpush_dev import alloy, loki

ALLOY = alloy.CONFIG.read_text()
DOCKER_META_LABEL = "__meta_docker_container_label_"


def _rules() -> list[dict[str, str]]:
    """Each discovery.relabel rule block as {attribute: raw value}."""
    return [
        dict(re.findall(r"(\w+)\s*=\s*(.+)", body))
        for body in re.findall(r"rule\s*\{([^}]*)\}", ALLOY)
    ]


def _sanitized(docker_label: str) -> str:
    # Prometheus docker SD: every character outside [a-zA-Z0-9_] becomes "_".
    return DOCKER_META_LABEL + re.sub(r"[^a-zA-Z0-9_]", "_", docker_label)


def _seconds(duration: str) -> float:
    value, unit = re.fullmatch(r"(\d+)(ms|s)", duration).groups()  # type: ignore[union-attr]
    return int(value) / (1000 if unit == "ms" else 1)


def _attr(name: str) -> str:
    match = re.search(rf"^\s*{name}\s*=\s*\"([^\"]+)\"", ALLOY, re.MULTILINE)
    assert match, name
    return match.group(1)


def test_alloy_maps_exactly_the_app_labels() -> None:
    (labelmap,) = [rule for rule in _rules() if rule.get("action") == '"labelmap"']
    prefix = _sanitized(LABEL_PREFIX)
    assert labelmap["regex"] == f'"{prefix}({"|".join(LOG_LABELS)})"'
    # No other rule writes a devpush label: the labelmap is the one mapping.
    assert not [r for r in _rules() if r.get("source_labels", "").startswith(f'["{prefix}')]
    job = [rule for rule in _rules() if rule.get("target_label") == '"job"']
    assert [rule["replacement"] for rule in job] == [f'"{LOKI_JOB}"']


def test_alloy_selects_runners_by_the_selector_label() -> None:
    label_filter = re.search(r'name\s*=\s*"label"\s*\n\s*values\s*=\s*\[([^\]]*)\]', ALLOY)
    assert label_filter and label_filter.group(1) == f'"{RUNNER_SELECTOR_LABEL}"'


def test_alloy_reads_the_env_the_starter_sets_with_compose_defaults() -> None:
    assert f'sys.env("{alloy.DOCKER_HOST_ENV}"), "tcp://docker-proxy-alloy:2375"' in ALLOY
    assert f'sys.env("{alloy.LOKI_PUSH_URL_ENV}"), "http://loki:3100/loki/api/v1/push"' in ALLOY
    # The seed's log-path meta label does not exist in Prometheus docker SD.
    assert "__meta_docker_container_log_path" not in ALLOY
    assert "stage.docker" in ALLOY


def test_alloy_latency_fits_the_live_tail_delay() -> None:
    # A new runner's first lines: one discovery refresh plus one batch wait, at worst.
    worst = _seconds(_attr("refresh_interval")) + _seconds(_attr("batch_wait"))
    assert worst < Settings().log_tail_delay_seconds


def test_loki_config_parses_with_the_expected_keys() -> None:
    config = yaml.safe_load(loki.CONFIG.read_text())
    (schema,) = config["schema_config"]["configs"]
    assert (schema["store"], schema["schema"], schema["object_store"]) == (
        "tsdb",
        "v13",
        "filesystem",
    )
    assert config["compactor"]["retention_enabled"] is True
    assert config["compactor"]["delete_request_store"] == "filesystem"
    limits = config["limits_config"]
    assert limits["retention_period"] == "744h"
    assert limits["max_line_size_truncate"] is True
    assert limits["max_entries_limit_per_query"] >= Settings().log_store_max_entries_per_query
    # Every path follows the data dir, so Compose (/loki) and tests (a temp dir) share it.
    data_dir = "${" + loki.DATA_DIR_ENV + ":-/loki}"
    paths = [
        config["common"]["path_prefix"],
        *config["common"]["storage"]["filesystem"].values(),
        config["compactor"]["working_directory"],
    ]
    assert all(p == data_dir or p.startswith(f"{data_dir}/") for p in paths), paths


def test_loki_level_discovery_is_off() -> None:
    # The app's level rules are the only ones (tests/e2e/pipeline checks a real Loki).
    config = yaml.safe_load(loki.CONFIG.read_text())
    assert config["limits_config"]["discover_log_levels"] is False
