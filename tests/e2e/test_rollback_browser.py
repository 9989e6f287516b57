"""Rolling back in Chromium: "Roll back to this" on a deployment, confirm, and the
environment URL serves the old build again; then "Resume auto-deploys".

Everything is real: the web app served by uvicorn, a worker process on the real engine,
Debian's Caddy and Chromium.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, expect

from devpush.main import create_app
from devpush.models import DeploymentStatus, DeployTrigger
from devpush.services import hosts
from devpush_dev import processes
from devpush_dev.caddy import Caddy
from tests.e2e.proxy_polling import host_of, through_proxy
from tests.e2e.support import (
    Stack,
    deploy_hi_again,
    first_running,
    hello,
    owner_and_token,
    wait_kept,
)
from tests.fixtures.browser import sign_in
from tests.fixtures.web import LiveServer

pytestmark = pytest.mark.docker

TIMEOUT_MS = 60_000


def test_roll_back_to_this_in_chromium(
    stack: Stack,
    worker: Callable[..., processes.Child],
    caddy: Caddy,
    browser: Browser,
) -> None:
    child, queue, v1 = first_running(stack, worker)
    v1_id = v1.id
    email, _token = owner_and_token(stack)
    wait_kept(stack, v1_id)
    v2 = deploy_hi_again(stack, queue, child)
    v2_id = v2.id
    stack.wait_for(v1_id, {DeploymentStatus.SUPERSEDED})
    with stack.sessions() as session:
        env_url = hosts.environment_url(stack.load(session, v2_id).environment, stack.settings)
    assert env_url is not None
    assert through_proxy(caddy, host_of(env_url)).text == hello(v2, "Hi again")

    with LiveServer(create_app(stack.settings)) as url:
        page = browser.new_page()
        sign_in(page, url, email)

        # The project's list offers it on v1 (superseded, build kept), not on v2 (serving).
        page.goto(f"{url}/projects/hello")
        offered = page.locator("#deployments a.rollback")
        expect(offered).to_have_count(1)
        assert offered.get_attribute("href") == f"/projects/hello/deployments/{v1_id}/rollback"

        page.goto(f"{url}/projects/hello/deployments/{v1_id}")
        page.click("#deployment-status a.rollback")
        page.wait_for_url(f"**/deployments/{v1_id}/rollback")
        expect(page.locator("h1")).to_contain_text(f"Roll back production to {v1_id[:8]}")
        expect(page.locator("#rollback-confirm")).to_contain_text("Pushes stop deploying")
        page.click("#rollback-confirm button[type=submit]")
        page.wait_for_url(lambda u: "/deployments/" in u and v1_id not in u, timeout=TIMEOUT_MS)
        back_id = page.url.rstrip("/").rsplit("/", 1)[1]
        expect(page.locator("a.rollback-of")).to_have_attribute(
            "href", f"/projects/hello/deployments/{v1_id}"
        )
        back = stack.wait_for(back_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED})
        assert back.status is DeploymentStatus.RUNNING, (back.error, child.log_tail())
        assert (back.trigger, back.rollback_of_id) == (DeployTrigger.ROLLBACK, v1_id)
        # The environment URL serves v1's build again, in Chromium too.
        deadline = time.monotonic() + 10
        while through_proxy(caddy, host_of(env_url)).text != hello(v1):
            assert time.monotonic() < deadline, "the environment URL did not move back"
            time.sleep(0.1)
        visit = browser.new_page()
        visit.goto(env_url)
        assert visit.inner_text("body").strip() == hello(v1).strip()
        visit.close()
        page.reload()
        expect(page.locator("#deployment-status")).to_contain_text("running")

        # The environment says auto-deploys are paused, until "Resume auto-deploys".
        page.goto(f"{url}/projects/hello")
        # v1's build serves again: only v2 is offered now.
        offered = page.locator("#deployments a.rollback")
        expect(offered).to_have_count(1)
        assert offered.get_attribute("href") == f"/projects/hello/deployments/{v2_id}/rollback"
        paused = page.locator(".auto-deploy-paused")
        expect(paused).to_contain_text("Auto-deploys paused after a rollback")
        paused.locator("button[type=submit]").click()
        page.wait_for_url(f"{url}/projects/hello")
        expect(page.locator(".auto-deploy-paused")).to_have_count(0)
        with stack.sessions() as session:
            assert not stack.load(session, back_id).environment.auto_deploy_paused
        page.close()
