"""Runtime metrics of a real deployment under load, through the worker process's sampler.

A worker process (``python -m devpush.workers``) reaches the engine through the socket
proxy's worker door and samples every second; the runner's start command burns CPU
beside the example app. The API shows nonzero CPU and memory, the worker's retention
deletes an old sample, and Chromium shows the charts on the deployment page, refreshed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from devpush.main import create_app
from devpush.models import DeploymentMetric, DeploymentStatus, utcnow
from devpush.services.metrics import Sample, add_samples
from devpush.workers.queue import DeployQueue, huey_from_url
from devpush_dev import processes
from tests.e2e.support import Stack, owner_and_token
from tests.fixtures.browser import sign_in
from tests.fixtures.web import LiveServer

pytestmark = pytest.mark.docker

#: A CPU loop in the background, then the example app (the runner's limit is 0.5 CPUs).
BURNING_START = "(while :; do :; done) & exec python3 app.py"
#: Busy, whatever else the machine runs (an idle app uses a few thousandths of a core; on
#: a loaded 2-core machine the loop may get far less than its 0.5).
BUSY_CORES = 0.05


def metrics_of(url: str, token: str, deployment_id: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{url}/api/v1/deployments/{deployment_id}/metrics",
        params={"range": "15m"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_busy_deployments_metrics_in_the_api_and_in_chromium(
    make_stack: Callable[..., Stack],
    sqlite_url: str,
    worker: Callable[..., processes.Child],
    browser: Browser,
) -> None:
    stack = make_stack(sqlite_url, build_command="")
    stack.update_project(start_command=BURNING_START)
    settings = stack.settings.model_copy(update={"metrics_interval_seconds": 1.0})
    child = worker(settings)
    queue = DeployQueue(huey_from_url(settings.queue_url))
    email, token = owner_and_token(stack)

    deployment_id = stack.deploy(queue)
    deployment = stack.wait_for(deployment_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED})
    assert deployment.status is DeploymentStatus.RUNNING, (deployment.error, child.log_tail())
    # A sample from before the retention (a day, by default): the worker's next round
    # deletes it.
    too_old = utcnow() - timedelta(seconds=settings.metrics_retention_seconds, minutes=1)
    with stack.sessions() as session:
        add_samples(session, [(deployment_id, Sample(too_old, 1, 1, 0, 0))])
        session.commit()

    with LiveServer(create_app(settings)) as url:
        deadline = time.monotonic() + 60
        while True:
            samples = metrics_of(url, token, deployment_id)["samples"]
            busy = [s for s in samples if s["cpu"] is not None and s["cpu"] > BUSY_CORES]
            if len(busy) >= 2:
                break
            assert time.monotonic() < deadline, (samples, child.log_tail())
            time.sleep(0.5)
        newest = busy[-1]
        # Bounded by the runner's limit (a margin for the sampling's timing).
        assert BUSY_CORES < newest["cpu"] < 0.5 * 1.5, samples
        assert newest["memory_bytes"] > 1024 * 1024  # a Python process
        assert newest["rx_bytes"] > 0  # at least the worker's ready check
        with stack.sessions() as session:
            oldest = session.scalar(select(DeploymentMetric.at).order_by(DeploymentMetric.at))
        assert oldest is not None
        assert utcnow() - oldest.replace(tzinfo=utcnow().tzinfo) < timedelta(minutes=5)

        page = browser.new_page()
        sign_in(page, url, email)
        page.goto(f"{url}/projects/hello/deployments/{deployment_id}")
        panel = page.locator("#deployment-metrics")
        expect(panel.locator("#metric-cpu polyline.series-cpu")).to_have_count(1)
        expect(panel.locator("#metric-memory polyline.series-memory")).to_have_count(1)
        expect(panel.locator("#metric-cpu .metric-latest")).to_have_text(
            re.compile(r"0\.\d\d cores")
        )
        latest = panel.locator("#metric-cpu .metric-latest").inner_text()
        assert BUSY_CORES < float(latest.split()[0]) < 0.5 * 1.5, latest
        # htmx asks for the panel again every interval: more samples show.
        shown = int(panel.get_attribute("data-samples") or 0)
        expect(panel).not_to_have_attribute("data-samples", str(shown), timeout=15_000)
        # Another range, chosen in the panel.
        panel.locator(".metric-ranges a", has_text="6h").click()
        expect(page.locator("#deployment-metrics")).to_have_attribute("data-range", "6h")
        page.close()
    assert child.running(), child.log_tail()
