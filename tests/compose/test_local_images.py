"""The local images of the production stack: scripts/dev/prod-images.sh, Docker/local/ and
docker-compose.local.yml agree, and the app's Dockerfile builds without BuildKit or a
registry (its base images are build args)."""

from __future__ import annotations

import re
import subprocess

from devpush_dev.socket_proxy import DEFAULT_FLAGS, render_config
from tests.compose.conftest import REPO, LoadCompose

PROD_IMAGES = REPO / "scripts/dev/prod-images.sh"
COMPOSE_SH = REPO / "scripts/dev/compose.sh"
HAPROXY_CFG = REPO / "Docker/local/docker-proxy/haproxy.cfg"
LOCAL_FILES = ("docker-compose.yml", "docker-compose.victorialogs.yml", "docker-compose.local.yml")


def script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def dry_run_tags() -> set[str]:
    proc = script(str(PROD_IMAGES), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    return set(re.findall(r"^\+ docker build \(classic\) -t (\S+)", proc.stdout, re.M))


def test_every_image_of_the_local_stack_is_built_by_the_script(load_compose: LoadCompose) -> None:
    config = load_compose(*LOCAL_FILES)
    images = {service["image"] for service in config["services"].values()}
    assert images == dry_run_tags() - {"devpush/python:local", "devpush/uv:local"}
    for name, service in config["services"].items():
        assert service["pull_policy"] == "never", name


def test_the_stand_ins_use_local_bases_only() -> None:
    for dockerfile in sorted((REPO / "Docker/local").glob("*/Dockerfile")):
        text = dockerfile.read_text()
        bases = re.findall(r"^FROM (\S+)", text, re.M)
        assert bases, dockerfile
        for base in bases:
            assert base in {"${BASE_IMAGE}", "scratch"}, (dockerfile, base)
        default = re.search(r"^ARG BASE_IMAGE=(\S+)", text, re.M)
        assert default is None or default.group(1).startswith("devpush/"), dockerfile


def test_app_dockerfile_takes_its_bases_and_needs_no_buildkit() -> None:
    text = (REPO / "Docker/Dockerfile.app").read_text()
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in text
    assert "ARG UV_IMAGE=ghcr.io/astral-sh/uv:" in text
    assert re.findall(r"^FROM (\S+)", text, re.M) == [
        "${UV_IMAGE}",
        "${PYTHON_IMAGE}",
        "${PYTHON_IMAGE}",
    ]
    assert not re.search(r"^RUN --mount", text, re.M)
    assert "# syntax=" not in text
    # Layer caching: the lock is copied (and installed) before the source.
    assert text.index("COPY pyproject.toml uv.lock") < text.index("COPY devpush ./devpush")


def test_dockerignore_keeps_the_context_small() -> None:
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    for entry in (".git", ".venv", "/data", "/benchmarks/results", "/.env"):
        assert entry in ignored, entry


def test_the_stand_in_socket_proxy_has_the_rules_of_the_tests_proxy() -> None:
    # The same frontend and backends as devpush_dev/socket_proxy.py renders, with the flags
    # from the container's environment instead of pinned, listening on all addresses.
    rendered = render_config(flags=DEFAULT_FLAGS, port=2375, socket_path="/var/run/docker.sock")
    expected = [
        line.replace("bind 127.0.0.1:2375", "bind :2375")
        for line in rendered.splitlines()
        if not line.startswith(("    setenv ", "#"))
    ]
    actual = [line for line in HAPROXY_CFG.read_text().splitlines() if not line.startswith("#")]
    assert actual == expected


def test_haproxy_accepts_the_socket_proxy_config_without_a_warning() -> None:
    # Debian's HAProxy (the stand-in's and the tests' one): the events backend has timeouts.
    proc = script("haproxy", "-c", "-f", str(HAPROXY_CFG))
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stdout + proc.stderr
    assert "missing timeouts" not in proc.stdout + proc.stderr


def test_scripts_help_dry_run_and_bad_arguments() -> None:
    for path in (PROD_IMAGES, COMPOSE_SH):
        assert "Usage:" in script(str(path), "--help").stdout
        assert script(str(path), "--bogus").returncode == 2
    proc = script(str(COMPOSE_SH), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "go mod download -json github.com/docker/compose/v5@v5.6.0" in proc.stdout
    assert "go install" not in proc.stdout  # refused for this module (exclude directives)
    assert "cli-plugins/docker-compose" in proc.stdout
