"""A team's day in Chromium: set a variable, deploy, open the environment URL through the
proxy, change the variable and redeploy, then delete the project.

Everything is real: the web app served by uvicorn, a worker process on the real engine,
Debian's Caddy, Debian's Chromium. The page flow is the one a user clicks through.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import docker
import pytest
from playwright.sync_api import Browser, Page, expect

from devpush.main import create_app
from devpush.models import DeploymentStatus
from devpush.services import hosts
from devpush_dev import processes
from devpush_dev.caddy import Caddy
from tests.e2e.proxy_polling import through_proxy
from tests.e2e.support import Stack, add_greet_app, owner_and_token, production_host, runner_names
from tests.fixtures.browser import sign_in
from tests.fixtures.web import LiveServer

pytestmark = pytest.mark.docker

TIMEOUT_MS = 120_000


def _deploy_and_wait(page: Page, stack: Stack, url: str) -> str:
    """Press Deploy on the project page; the id of the deployment once it runs."""
    page.goto(f"{url}/projects/hello")
    page.click("form.deploy-form button[type=submit]")
    page.wait_for_url("**/deployments/*", timeout=TIMEOUT_MS)
    deployment_id = page.url.rstrip("/").rsplit("/", 1)[1]
    deployment = stack.wait_for(deployment_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED})
    assert deployment.status is DeploymentStatus.RUNNING, deployment.error
    return deployment_id


def test_variable_deploy_redeploy_and_delete_in_chromium(
    stack: Stack,
    worker: Callable[..., processes.Child],
    caddy: Caddy,
    docker_engine: docker.DockerClient,
    browser: Browser,
) -> None:
    add_greet_app(stack)
    child = worker(stack.settings)
    email, _token = owner_and_token(stack)
    host = production_host(stack)
    env_url = hosts.public_url(host, stack.settings)

    with LiveServer(create_app(stack.settings)) as url:
        page = browser.new_page()
        sign_in(page, url, email)

        # The start command, then a shared variable pasted as .env text.
        page.goto(f"{url}/projects/hello/settings")
        page.fill("#f-start_command", "python3 greet.py")
        page.click("text=Save settings")
        expect(page.locator("#f-start_command")).to_have_value("python3 greet.py")
        page.fill("#env_vars", 'GREETING="first value"')
        page.click("#add-variables button[type=submit]")
        expect(page.locator("body")).to_contain_text("Changes take effect at the next deployment")
        expect(page.locator("body")).not_to_contain_text("first value")

        _deploy_and_wait(page, stack, url)
        visit = browser.new_page()
        visit.goto(env_url)
        expect(visit.locator("body")).to_have_text("GREETING=first value")

        # Replace it (write-only: the page shows a mask), then redeploy.
        page.goto(f"{url}/projects/hello/settings")
        page.fill('input[aria-label="new value of GREETING"]', "second value")
        page.click('input[aria-label="new value of GREETING"] ~ button')
        expect(page.locator("body")).not_to_contain_text("second value")
        second_id = _deploy_and_wait(page, stack, url)
        deadline = time.monotonic() + 30
        while through_proxy(caddy, host).text != "GREETING=second value\n":
            assert time.monotonic() < deadline, child.log_tail()
            time.sleep(0.2)
        visit.goto(env_url)
        expect(visit.locator("body")).to_have_text("GREETING=second value")
        assert (
            stack.wait_for(second_id, {DeploymentStatus.RUNNING}).status is DeploymentStatus.RUNNING
        )

        # Delete, confirming with the project's name.
        page.goto(f"{url}/projects/hello/settings")
        page.fill("#confirm", "Hello")
        page.click("text=Delete project")
        page.wait_for_url("**/projects")
        expect(page.locator("body")).not_to_contain_text("Hello")

    deadline = time.monotonic() + 60
    while runner_names(docker_engine, stack.project_id):
        assert time.monotonic() < deadline, child.log_tail()
        time.sleep(0.2)
    assert through_proxy(caddy, host).status_code == 404
