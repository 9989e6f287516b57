"""The store down long enough to fill the collector's queue: the app says so, and once
the store is back nothing is lost.

The session's collector is started again with a 1 MiB queue
(``DEVPUSH_COLLECTOR_QUEUE_BYTES``; 1 GiB by default) so that a runner fills it in
seconds: about 176 bytes a short line in the queue, so some 6,000 lines. Then the
receiver stops reading, lines wait in the runner's json file, and the app warns
(devpush/services/collector.py, from the collector's metrics). The store comes back: the
queue drains, the receiver reads on, every line shows once, and the warning goes.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from devpush.core.config import Settings
from devpush.services.collector import (
    collector_down_message,
    collector_warning,
    queue_full_message,
    queue_state,
)
from devpush_dev.otelcol import CollectorEnv
from tests.fixtures.logstack import LogStack
from tests.fixtures.numbered_lines import Spawn, assert_exact, ids, wait_shown, writer
from tests.fixtures.web import TwoTeams, log_in

pytestmark = pytest.mark.docker

QUEUE_BYTES = 1024 * 1024


@pytest.fixture
def settings(settings: Settings, running_log_stack: LogStack) -> Settings:
    """The web app's settings, reading this stack's store and collector."""
    return settings.model_copy(
        update={
            "log_store_url": running_log_stack.store_url,
            "log_collector_metrics_url": running_log_stack.collector_metrics_url,
        }
    )


def warning_within(settings: object, *, present: bool, timeout: float) -> str | None:
    """The warning once it is there (``present``) or gone; fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        warning = asyncio.run(collector_warning(settings))  # type: ignore[arg-type]
        if (warning is not None) == present:
            return warning
        if time.monotonic() > deadline:
            state = asyncio.run(queue_state(settings))  # type: ignore[arg-type]
            pytest.fail(
                f"the queue-full warning {'never came' if present else 'stayed'} in "
                f"{timeout:.0f}s; the collector's queue: {state}"
            )
        time.sleep(0.5)


def log_views(client: TestClient, project: str, deployment_id: str) -> tuple[str, str]:
    """The deployment page's log panel and the Logs page, as HTML."""
    base = f"/projects/{project}/logs"
    panel = client.get(f"{base}/panel?deployment={deployment_id}", headers={"HX-Request": "true"})
    return panel.text, client.get(base).text


def logs_api(client: TestClient, project: str, token: str) -> Response:
    return client.get(
        f"/api/v1/projects/{project}/logs", headers={"Authorization": f"Bearer {token}"}
    )


def test_the_app_warns_while_the_collector_queue_is_full_and_nothing_is_lost(
    running_log_stack: LogStack,
    spawn: Spawn,
    monkeypatch: pytest.MonkeyPatch,
    client: TestClient,
    two_teams: TwoTeams,
) -> None:
    stack = running_log_stack
    if stack.backend != "victorialogs" or stack.collector_metrics_url is None:
        pytest.fail("needs the OpenTelemetry Collector stack (--log-store=victorialogs)")
    settings = stack.settings()
    assert asyncio.run(collector_warning(settings)) is None, "the queue is full at the start"
    project_id, deployment_id = ids()
    # 20,000 lines, about 3.4 MiB in the queue: more than 3 times what it holds.
    argv, total = writer(seconds=10, rate=2000)
    assert stack.collector is not None and stack.store is not None
    monkeypatch.setenv(CollectorEnv.QUEUE_BYTES, str(QUEUE_BYTES))
    try:
        stack.collector.stop()
        stack.start_collector()
        stack.store.stop()
        container = spawn(argv, project_id=project_id, deployment_id=deployment_id)
        warning = warning_within(settings, present=True, timeout=60)
        assert warning == queue_full_message(settings)
        assert "(50 MiB)" in warning, warning  # 10m x 5, the worker's default rotation
        # The deployment page's panel and the Logs page say it, beside "store unreachable".
        alice = two_teams.alice
        log_in(client, alice.email)
        for html in log_views(client, alice.project_slug, alice.deployment_id):
            assert "data-collector-warning" in html and "queue is full" in html, html
        # The API says it too, beside "unreachable" (the store is down).
        api = logs_api(client, alice.project_slug, alice.token)
        assert api.status_code == 503 and warning in api.json()["detail"], api.text
        container.wait(timeout=120)
        assert asyncio.run(collector_warning(settings)) == warning, "the queue emptied unseen"
        stack.start_store()
        assert_exact(wait_shown(stack, project_id, deployment_id, total, timeout=120), total)
        warning_within(settings, present=False, timeout=60)
    finally:
        monkeypatch.delenv(CollectorEnv.QUEUE_BYTES)
        if stack.store is None or not stack.store.running():
            stack.start_store()
        if stack.collector is not None:
            stack.collector.stop()
        stack.start_collector()


def test_the_views_say_when_the_collector_does_not_answer(
    running_log_stack: LogStack, client: TestClient, two_teams: TwoTeams
) -> None:
    stack = running_log_stack
    if stack.collector is None or stack.collector_metrics_url is None:
        pytest.fail("needs a stack whose collector has metrics (--log-store=victorialogs)")
    settings = stack.settings()
    assert asyncio.run(collector_warning(settings)) is None, "the collector is down at the start"
    alice = two_teams.alice
    log_in(client, alice.email)
    try:
        stack.collector.kill()
        down = collector_down_message(settings)
        assert asyncio.run(collector_warning(settings)) == down
        for html in log_views(client, alice.project_slug, alice.deployment_id):
            assert "data-collector-warning" in html and "does not answer" in html, html
        # The store is up: the API answers the page, and says it beside the lines.
        api = logs_api(client, alice.project_slug, alice.token)
        assert api.status_code == 200 and api.json()["collector_warning"] == down, api.text
    finally:
        stack.start_collector()
    warning_within(settings, present=False, timeout=30)
