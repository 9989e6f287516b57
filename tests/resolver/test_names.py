"""The names the resolver gives runners."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from devpush.resolver.names import (
    MAX_NAME,
    RouteLabels,
    branch_labels,
    decode_branch,
    route_name,
    runner_address,
    runner_name,
)

ROOT = Path(__file__).resolve().parents[2]
IDS = {"project_id": "a" * 32, "environment_id": "b" * 32, "deployment_id": "c" * 32}


def test_a_runner_name_carries_its_ip() -> None:
    assert runner_name("10.0.0.7") == "10-0-0-7.runners.devpush."
    assert runner_address("10-0-0-7.runners.devpush.") == "10.0.0.7"
    assert runner_address("10-0-0-7.RUNNERS.devpush") == "10.0.0.7"  # any case, any dot
    for other in (
        "shop.localhost",
        "10-0-0-7.elsewhere.",
        "10-0-0.runners.devpush.",
        "10-0-0-999.runners.devpush.",
        "runners.devpush.",
    ):
        assert runner_address(other) is None, other


#: A DNS label as Go's resolver (Caddy's) accepts it in an answer: no "-" at either end.
_GO_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


@pytest.mark.parametrize(
    "branch", ["main", "feature/logs", "a", "ab", "fix/ü-ñ+~x", "x" * 40, "release/2026.12"]
)
def test_a_route_name_carries_the_deployment_and_its_branch(branch: str) -> None:
    name = route_name("10.0.0.7", RouteLabels(branch=branch, **IDS))
    assert name.endswith(f".{'c' * 32}.{'b' * 32}.{'a' * 32}.10-0-0-7.runners.devpush.")
    assert runner_address(name) == "10.0.0.7"  # the A lookup of the target still works
    labels = name.rstrip(".").split(".")
    assert len(name.rstrip(".")) <= MAX_NAME
    assert all(_GO_LABEL.fullmatch(label) for label in labels), name
    assert decode_branch(".".join(labels[:-6])) == branch


def test_a_branch_too_long_for_dns_is_left_out_and_odd_ids_name_no_deployment() -> None:
    long = route_name("10.0.0.7", RouteLabels(branch="y" * 200, **IDS))
    assert long == ".".join([IDS["deployment_id"], IDS["environment_id"], IDS["project_id"]]) + (
        ".10-0-0-7.runners.devpush."
    )
    odd = RouteLabels(project_id="P.1", environment_id="e", branch="main", deployment_id="d")
    assert route_name("10.0.0.7", odd) == runner_name("10.0.0.7")


def test_the_collector_decodes_the_branch_as_names_encodes_it() -> None:
    """The otelcol config undoes branch_labels with a regex and base64: the same steps."""
    config = (ROOT / "Docker" / "otelcol" / "config.yaml").read_text()
    assert "regex: '^b|b\\.b|b$'" in config
    assert 'replace(replace(attributes.route.branch, "-", "+"), "_", "/")' in config
    text = ".".join(branch_labels("feature/ü+"))
    raw = re.sub(r"^b|b\.b|b$", "", text).replace("-", "+").replace("_", "/")
    assert base64.b64decode(raw).decode().strip() == "feature/ü+"
