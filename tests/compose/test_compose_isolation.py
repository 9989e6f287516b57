"""Tenants kept apart in the production Compose stack (the session's stack, conftest.py).

Two projects deploy through the API; from inside project A's runner, TCP connects go to
project B's runner and to every address of every service of the stack but the proxy
(the app, the worker's socket-proxy door, the resolvers, VictoriaLogs, the collector,
PostgreSQL, Redis), and to the ports the stack publishes on the host's loopback, by the
host's address on A's network. Each one fails; B answers over HTTPS through the Caddy
container; A reaches its own runner and Caddy (the controls). A deleted project's
network goes with it.
"""

from __future__ import annotations

import time
from typing import Any

import docker
import pytest
from docker.models.containers import Container

from tests.compose.stack import DOMAIN, ComposeStack, runner_networks
from tests.compose.stack_calls import api, https_body, wait_until
from tests.utils.reach import address, attempt, gateway, unreachable

pytestmark = pytest.mark.docker

#: Where each service of the stack listens (TCP), on every network it is on.
SERVICE_PORTS = {
    "app": [8000],
    "docker-proxy-worker": [2375],
    "resolver": [5353],
    "resolver-2": [5353],
    "victorialogs": [9428],
    "otelcol": [8888, 13133],
    "postgres": [5432],
    "redis": [6379],
    "worker": [8000, 2375],  # it listens on nothing: any port, to show no route to it
}


def ensure_token(stack: ComposeStack) -> None:
    """The admin's API token (made by the deploy test of test_compose_e2e.py if it ran)."""
    if stack.token:
        return
    stack.must(
        "exec", "-T", "-e", "DEVPUSH_ADMIN_PASSWORD", "app",
        "devpush", "admin", "ensure-user", "--email", stack.admin_email,
    )  # fmt: skip
    stack.wait_for_api()
    stack.token = api(
        stack, "POST", "/tokens",
        json={"email": stack.admin_email, "password": stack.admin_password, "name": "isolation"},
    )["token"]  # fmt: skip


def deploy(stack: ComposeStack, slug: str) -> dict[str, Any]:
    """A project of examples/hello-python named ``slug``, deployed and running."""
    project = api(
        stack, "POST", "/projects",
        json={
            "name": slug, "slug": slug, "repo_url": "/data/repos/hello-python",
            "build_command": "python3 build.py", "start_command": "python3 app.py", "port": 8000,
        },
    )  # fmt: skip
    deployment = api(stack, "POST", f"/projects/{slug}/deployments", json={})

    def running() -> dict[str, Any] | None:
        row = api(stack, "GET", f"/deployments/{deployment['id']}")
        assert row["status"] not in {"failed", "stopped"}, row
        return row if row["status"] == "running" else None

    wait_until(f"{slug} runs", running, timeout=180, stack=stack)
    return dict(project)


def runner_of(client: docker.DockerClient, project_id: str) -> Container:
    found = client.containers.list(
        filters={"label": [f"devpush.project_id={project_id}", "devpush.role=runner"]}
    )
    assert len(found) == 1, found
    return found[0]


def service_targets(stack: ComposeStack, client: docker.DockerClient) -> dict[str, tuple[str, int]]:
    """Every (address, port) of the stack's services but the proxy, by a readable name."""
    targets = {}
    label = f"com.docker.compose.project={stack.project}"
    for container in client.containers.list(filters={"label": label}):
        service = container.labels["com.docker.compose.service"]
        if service == "proxy":
            continue
        networks = container.attrs["NetworkSettings"]["Networks"]
        for network, settings in networks.items():
            for port in SERVICE_PORTS[service]:
                targets[f"{service} on {network}:{port}"] = (settings["IPAddress"], port)
    return targets


def test_a_runner_reaches_no_other_project_and_no_service_of_the_stack(
    stack: ComposeStack,
) -> None:
    ensure_token(stack)
    client = docker.from_env()
    try:
        alpha, beta = deploy(stack, "iso-alpha"), deploy(stack, "iso-beta")
        a, b = runner_of(client, alpha["id"]), runner_of(client, beta["id"])
        net_a, net_b = (f"{stack.project}_runner-{p['id']}" for p in (alpha, beta))
        # Each runner on its project's network only; the proxy on both, the worker on none.
        assert list(a.attrs["NetworkSettings"]["Networks"]) == [net_a]
        assert list(b.attrs["NetworkSettings"]["Networks"]) == [net_b]
        proxy = client.containers.get(f"{stack.project}-proxy-1")
        assert {net_a, net_b} <= set(proxy.attrs["NetworkSettings"]["Networks"])
        worker = client.containers.get(f"{stack.project}-worker-1")
        assert not {net_a, net_b} & set(worker.attrs["NetworkSettings"]["Networks"])

        host = gateway(a, net_a)
        targets = {
            "project B's runner": (address(b, net_b), 8000),
            **service_targets(stack, client),
            # What the stack publishes on the host's loopback, at the host's address here.
            "the app's published port": (host, stack.http_port),
        }
        assert len(targets) > 15, targets
        assert unreachable(a, targets) == {}
        # The controls: its own runner, and the proxy (what visitors reach) on its network.
        assert attempt(a, address(a, net_a), 8000) == (True, "connected")
        assert attempt(a, address(proxy, net_a), 443) == (True, "connected")

        # B answers over HTTPS through the Caddy container, as any visitor reaches it.
        https_body(stack, f"iso-beta.{DOMAIN}", "Caddy answers for B over HTTPS")

        # A deleted project's network goes (its runner removed, the proxy disconnected).
        with stack.client() as http:
            assert http.delete("/api/v1/projects/iso-beta").status_code == 204
        deadline = time.monotonic() + 60
        while net_b in {n.name for n in runner_networks(stack, client)}:
            assert time.monotonic() < deadline, f"{net_b} still there\n{stack.tail_logs()}"
            time.sleep(1)
        assert net_a in {n.name for n in runner_networks(stack, client)}
    finally:
        client.close()
