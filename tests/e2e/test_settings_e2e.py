"""Project settings on the real engine: a variable changed in the web app (and one set over
the API) reaches the app at the next deployment, read through the real Caddy; deleting the
project stops and removes its runner containers and its routes.

The web app is the real one on the stack's database and SQLite queue; a real worker process
consumes the queue (the fixtures of tests/e2e/conftest.py).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import docker
import pytest
from fastapi.testclient import TestClient

from devpush.main import create_app
from devpush.models import DeploymentStatus
from devpush_dev import processes
from devpush_dev.caddy import Caddy
from tests.e2e.proxy_polling import through_proxy
from tests.e2e.support import (
    Stack,
    add_greet_app,
    app_url,
    owner_and_token,
    production_host,
    runner_names,
)
from tests.fixtures.web import csrf_token, log_in

pytestmark = pytest.mark.docker


def test_a_changed_variable_reaches_the_app_at_redeploy_and_delete_removes_runners(
    stack: Stack,
    worker: Callable[..., processes.Child],
    caddy: Caddy,
    docker_engine: docker.DockerClient,
) -> None:
    add_greet_app(stack)
    child = worker(stack.settings)
    email, token = owner_and_token(stack)
    api = {"Authorization": f"Bearer {token}"}
    host = production_host(stack)

    # The web app enqueues on the same SQLite queue the worker process consumes.
    with TestClient(create_app(stack.settings)) as client:
        # Over the API: the start command and a shared variable, then a deploy.
        response = client.patch(
            "/api/v1/projects/hello", json={"start_command": "python3 greet.py"}, headers=api
        )
        assert response.status_code == 200, response.text
        response = client.patch(
            "/api/v1/projects/hello/variables/shared",
            json={"values": {"GREETING": "first value"}},
            headers=api,
        )
        assert response.status_code == 200, response.text
        first_id = client.post("/api/v1/projects/hello/deployments", json={}, headers=api).json()[
            "id"
        ]
        first = stack.wait_for(first_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED})
        assert first.status is DeploymentStatus.RUNNING, (first.error, child.log_tail())
        assert through_proxy(caddy, host).text == "GREETING=first value\n"

        # In the web app: replace the value (write-only: the page never shows it), redeploy.
        csrf = log_in(client, email)
        response = client.post(
            "/projects/hello/settings/variables",
            data={
                "scope": "shared",
                "key": "GREETING",
                "value": "second value",
                "csrf_token": csrf,
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        page = client.get(response.headers["location"]).text
        assert "Changes take effect at the next deployment" in page
        assert "second value" not in page and "first value" not in page
        # The running app keeps the value it started with until the next deployment.
        assert httpx_text(app_url(stack, first)) == "GREETING=first value\n"
        response = client.post(
            f"/projects/hello/deployments/{first_id}/redeploy",
            data={"csrf_token": csrf},
            follow_redirects=False,
        )
        assert response.status_code == 303
        match = re.search(r"/deployments/([0-9a-f]{32})$", response.headers["location"])
        assert match, response.headers["location"]
        second = stack.wait_for(match.group(1), {DeploymentStatus.RUNNING, DeploymentStatus.FAILED})
        assert second.status is DeploymentStatus.RUNNING, (second.error, child.log_tail())
        assert httpx_text(app_url(stack, second)) == "GREETING=second value\n"
        # The environment's URL follows once the older deployment is superseded.
        stack.wait_for(first_id, {DeploymentStatus.SUPERSEDED})
        assert through_proxy(caddy, host).text == "GREETING=second value\n"
        assert len(runner_names(docker_engine, stack.project_id)) == 2  # the superseded one is kept

        # Delete the project, confirming with its name: runners and routes go.
        response = client.post(
            "/projects/hello/delete",
            data={"confirm": "Hello", "csrf_token": csrf_token(client, "/projects/hello/settings")},
            follow_redirects=False,
        )
        assert (response.status_code, response.headers["location"]) == (303, "/projects")
    started = time.monotonic()
    while runner_names(docker_engine, stack.project_id) and time.monotonic() - started < 60:
        time.sleep(0.2)
    assert runner_names(docker_engine, stack.project_id) == [], child.log_tail()
    gone_after = time.monotonic() - started
    assert through_proxy(caddy, host).status_code == 404
    print(f"runners removed {gone_after:.1f} s after the delete")


def httpx_text(url: str) -> str:
    import httpx

    return httpx.get(url, timeout=5).text
