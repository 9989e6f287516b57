"""The two doors of the Docker socket proxy, on the real engine through Debian's haproxy."""

from __future__ import annotations

import io
import json
import re
import subprocess
import tarfile
import uuid
from pathlib import Path

import docker
import httpx
import pytest
from docker.models.containers import Container

from devpush.core.labels import RUNNER_SELECTOR_LABEL
from devpush_dev import alloy
from devpush_dev.runners import BUSYBOX_IMAGE
from devpush_dev.socket_proxy import (
    ALLOY_DOOR,
    DEFAULT_FLAGS,
    WORKER_DOOR,
    ProxyConfigError,
    SocketProxy,
    read_flags,
    render_config,
)

API = "/v1.41"


def _alloy_status_filter() -> list[str]:
    """The status values discovery.docker sends, read from config.alloy itself."""
    text = alloy.CONFIG.read_text()
    match = re.search(r'name\s*=\s*"status"\s*\n\s*values\s*=\s*\[([^\]]*)\]', text)
    assert match, "config.alloy has no status filter"
    return re.findall(r'"([^"]+)"', match.group(1))


def _listed_ids(proxy: SocketProxy, filters: dict[str, list[str]]) -> set[str]:
    response = httpx.get(
        f"{proxy.http_url}{API}/containers/json", params={"filters": json.dumps(filters)}
    )
    assert response.status_code == 200, response.text
    return {item["Id"] for item in response.json()}


# --- rendered config (no processes) ---------------------------------------------------


def test_door_flags_are_what_the_env_files_say() -> None:
    alloy_flags = read_flags(ALLOY_DOOR)
    assert {k for k, v in alloy_flags.items() if v == "1"} == {"PING", "CONTAINERS", "NETWORKS"}
    worker_flags = read_flags(WORKER_DOOR)
    assert {k for k, v in worker_flags.items() if v == "1"} == {
        "POST", "PING", "VERSION", "CONTAINERS", "COMMIT", "IMAGES", "NETWORKS", "BUILD",
        "VOLUMES",
    }  # fmt: skip
    # Both files list every flag, so no image default (EVENTS=1, VERSION=1) applies silently.
    for door in (ALLOY_DOOR, WORKER_DOOR):
        keys = {line.split("=")[0] for line in door.read_text().splitlines() if "=" in line}
        assert set(DEFAULT_FLAGS) <= keys, door


def test_env_file_typos_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.env"
    bad.write_text("CONTAINER=1\n")
    with pytest.raises(ProxyConfigError, match="unknown flag 'CONTAINER'"):
        read_flags(bad)
    bad.write_text("POST=true\n")
    with pytest.raises(ProxyConfigError, match="must be 0 or 1"):
        read_flags(bad)


def test_rendered_config_is_tecnativas_frontend_and_valid(tmp_path: Path) -> None:
    config = render_config(flags=read_flags(ALLOY_DOOR), port=2375, socket_path="/run/d.sock")
    assert "setenv POST 0" in config
    assert "http-request deny unless METH_GET || { env(POST) -m bool }" in config
    assert (
        r"http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/containers } "
        "{ env(CONTAINERS) -m bool }"
    ) in config
    # Deny-all comes after every allow rule, as in tecnativa's haproxy.cfg.
    rules = [ln.strip() for ln in config.splitlines() if ln.strip().startswith("http-request")]
    assert rules[0].startswith("http-request deny unless") and rules[-1] == "http-request deny"
    path = tmp_path / "proxy.cfg"
    path.write_text(config)
    check = subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


# --- the Alloy door on the real engine ------------------------------------------------


@pytest.mark.docker
def test_alloy_door_serves_discovery(alloy_door: SocketProxy, exited_runner: Container) -> None:
    assert httpx.get(f"{alloy_door.http_url}/_ping").text == "OK"
    assert httpx.get(f"{alloy_door.http_url}{API}/networks").status_code == 200

    selector = {"label": [RUNNER_SELECTOR_LABEL]}
    # Docker lists only running containers unless a status filter is given ...
    assert exited_runner.id not in _listed_ids(alloy_door, selector)
    # ... which is why config.alloy sends one: the exited runner is found.
    found = _listed_ids(alloy_door, {**selector, "status": _alloy_status_filter()})
    assert exited_runner.id in found


REFUSED = [
    ("POST", f"{API}/containers/create"),
    ("POST", f"{API}/containers/{{id}}/stop"),
    ("POST", f"{API}/containers/{{id}}/start"),
    ("POST", f"{API}/containers/{{id}}/kill"),
    ("DELETE", f"{API}/containers/{{id}}"),
    ("POST", f"{API}/containers/{{id}}/exec"),
    ("PUT", f"{API}/containers/{{id}}/archive?path=/tmp"),
    ("GET", f"{API}/exec/0123abc/json"),
    ("GET", f"{API}/images/json"),
    ("GET", f"{API}/volumes"),
    ("GET", f"{API}/info"),
    ("GET", f"{API}/version"),
    ("GET", f"{API}/events"),
    ("POST", f"{API}/networks/create"),
]


@pytest.mark.docker
def test_alloy_door_refuses_everything_else(
    alloy_door: SocketProxy, exited_runner: Container, docker_client: docker.DockerClient
) -> None:
    with httpx.Client(base_url=alloy_door.http_url, timeout=10) as client:
        answers = {
            (method, path): client.request(
                method, path.format(id=exited_runner.id), json={"Image": BUSYBOX_IMAGE}
            ).status_code
            for method, path in REFUSED
        }
    assert answers == dict.fromkeys(REFUSED, 403)
    # Nothing reached the engine: the container is still there, untouched.
    assert docker_client.containers.get(exited_runner.id).status == "exited"


# --- the worker door on the real engine -----------------------------------------------


def _tar(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@pytest.mark.docker
def test_worker_door_runs_a_container_lifecycle(
    worker_door: SocketProxy, docker_client: docker.DockerClient
) -> None:
    client = docker.DockerClient(base_url=worker_door.url, version="auto", timeout=30)
    name = f"devpush-proxy-test-{uuid.uuid4().hex[:8]}"
    network = client.networks.create(name)
    container = None
    try:
        assert client.images.get(BUSYBOX_IMAGE).id
        container = client.containers.create(
            BUSYBOX_IMAGE, ["sh", "-c", "cat /app/hello.txt; exec sleep 60"], name=name
        )
        assert container.put_archive("/", _tar("app/hello.txt", b"hello through the proxy\n"))
        network.connect(container)
        container.start()
        container.reload()
        assert container.status == "running"
        container.stop(timeout=1)
        assert container.logs() == b"hello through the proxy\n"
        with pytest.raises(docker.errors.APIError) as refused:
            client.info()
        assert refused.value.response.status_code == 403
        container.remove()
        container = None
    finally:
        if container is not None:
            docker_client.containers.get(container.id).remove(force=True)
        docker_client.networks.get(network.id).remove()
        client.close()
