"""Health checks and memory limits with the real worker, Docker, Caddy and the resolvers.

A small app (written here, run by python3 in the runner image) answers ``/healthz`` as
told by its variables: ready only after some seconds, broken after some seconds, never
ready; ``/eat`` allocates past any small limit. The cases:

- a deploy whose app passes ``/healthz`` only 5 s after it started switches only then,
  while the old deployment keeps serving the environment's URL;
- one that never passes fails within its grace period with the check's last answer;
- a running one whose check starts failing is restarted (the same container, no build)
  until the restart bound, and its page and the API say so;
- a runner over its memory limit shows "out of memory", at the deploy and later.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

import httpx
import pytest
from fastapi.testclient import TestClient

from devpush.core.config import Settings
from devpush.models import Deployment, DeploymentStatus, DeployStep, HealthStatus
from devpush.services import health
from devpush.workers.health_watch import HealthWatch
from devpush.workers.queue import DeployQueue, huey_from_url
from devpush.workers.tasks.deploy import run_deploy
from devpush.workers.tasks.reconcile import run_reconcile
from devpush_dev import processes
from devpush_dev.caddy import Caddy
from devpush_dev.ports import free_port
from tests.e2e.proxy_polling import env_host, through_proxy
from tests.e2e.support import (
    Stack,
    app_url,
    commit_health_app,
    first_running,
    health_app_fields,
    logs_of,
    page_lines,
    queue_deployment,
    serve,
    shown_failure,
    wait_exited,
)
from tests.fixtures.web import log_in

pytestmark = pytest.mark.docker


@pytest.fixture
def health_stack(
    make_stack: Callable[..., Stack],
    sqlite_url: str,
) -> Callable[..., Stack]:
    """Makes a stack whose repository has the test app committed, its project set to the
    keywords given (``build_command`` is none unless given)."""

    def make(*, build_command: str = "", **project: object) -> Stack:
        stack = make_stack(sqlite_url, build_command=build_command)
        commit_health_app(stack.repo)
        stack.update_project(**project)
        return stack

    return make


def page_of(stack: Stack, client: TestClient, deployment_id: str) -> str:
    """The deployment's page as an owner of its project sees it."""
    email = f"{uuid.uuid4().hex[:8]}@example.org"
    stack.add_owner(email)
    log_in(client, email)
    page = client.get(f"/projects/hello/deployments/{deployment_id}")
    assert page.status_code == 200, page.text
    return page.text


def health_block(page: str) -> str:
    start = page.index('<div id="deployment-health"')
    return page[start : page.index("</div>", start)]


def test_the_switch_waits_for_a_passing_check_while_the_old_one_serves(
    health_stack: Callable[..., Stack],
    worker: Callable[..., processes.Child],
    caddy: Caddy,
) -> None:
    stack = health_stack(start_command="ANSWER=v1 python3 health_app.py")
    child, queue, v1 = first_running(stack, worker)
    v1_id = v1.id
    host = env_host(stack, v1_id)
    assert through_proxy(caddy, host).text == "v1\n"

    # v2 answers / at once, but /healthz only 5 s after it started.
    stack.update_project(
        **health_app_fields("ANSWER=v2 READY_AFTER=5", expect="200-299", grace_seconds=30)
    )
    v2_id = stack.deploy(queue)
    answers: list[tuple[float, str]] = []
    with httpx.Client(timeout=30) as client:
        while True:
            with stack.sessions() as session:
                v2 = stack.load(session, v2_id)
            if v2.status in (DeploymentStatus.RUNNING, DeploymentStatus.FAILED):
                break
            answer = through_proxy(caddy, host, client=client)
            assert answer.status_code == 200, answer.text
            answers.append((time.time(), answer.text))
            time.sleep(0.1)
        assert v2.status is DeploymentStatus.RUNNING, (v2.error, child.log_tail())
        started = float(httpx.get(f"{caddy.http_url}/started", headers={"Host": host}).text)
    assert v2.ready_at is not None
    ready_after = v2.ready_at.timestamp() - started
    print(f"\nv2 switched {ready_after:.2f} s after its app started")
    assert ready_after >= 5, "switched before /healthz passed"
    # The old deployment answered the environment's URL until the switch, also during the
    # 5 s its successor already answered / (the old rule would have switched then); the
    # proxy moves just before the row says running.
    first_v2 = min(t for t, text in [*answers, (time.time(), "v2\n")] if text == "v2\n")
    assert first_v2 >= started + 5, f"v2 served {first_v2 - started:.2f} s after it started"
    assert {text for t, text in answers if t < first_v2} == {"v1\n"}
    assert [t for t, _ in answers if started + 1 < t < started + 5], "no request meanwhile"
    assert through_proxy(caddy, host).text == "v2\n"
    stack.wait_for(v1_id, {DeploymentStatus.SUPERSEDED})


def test_a_deploy_that_never_passes_fails_with_the_checks_last_answer(
    health_stack: Callable[..., Stack],
    client: TestClient,
) -> None:
    stack = health_stack(**health_app_fields("NEVER_READY=1", expect="200-399", grace_seconds=4))
    deployment_id = queue_deployment(stack)
    began = time.monotonic()
    run_deploy(deployment_id, ctx=stack.ctx)
    took = time.monotonic() - began

    deployment = stack.wait_for(deployment_id, {DeploymentStatus.FAILED}, timeout=1)
    assert took < 30, f"the grace period is 4 s, the deploy took {took:.1f} s"
    assert deployment.error == (
        "the health check GET /healthz (expects 200-399) did not pass within 4 s of the"
        " start step; last answer: status 503: not ready: the database is down"
    )
    assert deployment.failure_step is DeployStep.READY_CHECK
    assert deployment.failure_lines == [
        "health app listening",
        "==> Health check GET /healthz (expects 200-399): status 503: not ready: the database"
        " is down",
    ]
    assert wait_exited(stack.container(deployment)) == "exited"
    block, api = shown_failure(stack, client, deployment)
    assert page_lines(block)[-1].endswith("status 503: not ready: the database is down")
    assert api["step"] == "ready-check"


def test_a_runner_whose_check_starts_failing_is_restarted_up_to_the_bound(
    health_stack: Callable[..., Stack],
    worker: Callable[..., processes.Child],
    caddy: Caddy,
    client: TestClient,
) -> None:
    # Healthy for its first 6 s after each start, then broken.
    stack = health_stack(
        build_command="python3 build.py",
        **health_app_fields("ANSWER=served BROKEN_AFTER=6", expect="200", grace_seconds=20),
        health_interval_seconds=1,
        health_failure_threshold=2,
    )
    child = worker(stack.settings, {"DEVPUSH_HEALTH_MAX_RESTARTS": "2"})
    queue = DeployQueue(huey_from_url(stack.settings.queue_url))
    deployment_id = stack.deploy(queue)
    deployment = stack.wait_for(deployment_id, {DeploymentStatus.RUNNING, DeploymentStatus.FAILED})
    assert deployment.status is DeploymentStatus.RUNNING, (deployment.error, child.log_tail())
    container_id = deployment.container_id
    host = env_host(stack, deployment_id)

    def wait_health(done: Callable[[Deployment], bool], *, timeout: float = 60) -> Deployment:
        deadline = time.monotonic() + timeout
        while True:
            with stack.sessions() as session:
                seen = stack.load(session, deployment_id)
            if done(seen):
                return seen
            assert time.monotonic() < deadline, (seen.health, child.log_tail())
            time.sleep(0.3)

    healthy = wait_health(lambda d: d.health_status is HealthStatus.HEALTHY)
    assert healthy.health_restarts == 0
    first = wait_health(lambda d: d.health_restarts >= 1)
    assert first.status is DeploymentStatus.RUNNING
    # Back up after its restart: the same container and route serve again, and it passes.
    wait_health(lambda d: d.health_status is HealthStatus.HEALTHY and d.health_restarts == 1)
    assert through_proxy(caddy, host).text == "served\n"
    page = page_of(stack, client, deployment_id)
    assert 'class="health-restarts">1<' in health_block(page)

    # Broken again, restarted again, broken again: past the bound of 2 it stays unhealthy.
    given_up = wait_health(
        lambda d: (
            d.health_restarts == 2
            and d.health_status is HealthStatus.UNHEALTHY
            and "not restarted again" in (d.health_error or "")
        )
    )
    assert given_up.status is DeploymentStatus.RUNNING
    assert given_up.health_error == (
        "GET /healthz (expects 200): status 500: broken; not restarted again: 2 restarts"
        " within 600 s, the most allowed"
    )
    time.sleep(3)  # more failed checks: no third restart
    with stack.sessions() as session:
        assert stack.load(session, deployment_id).health_restarts == 2
    block = health_block(page_of(stack, client, deployment_id))
    assert 'data-health="unhealthy"' in block
    assert 'class="health-restarts">2<' in block
    assert "not restarted again: 2 restarts within 600 s" in block
    token = stack.add_owner(f"{uuid.uuid4().hex[:8]}@example.org")
    api = client.get(
        f"/api/v1/deployments/{deployment_id}", headers={"Authorization": f"Bearer {token}"}
    ).json()["health"]
    assert (api["status"], api["restarts"]) == ("unhealthy", 2)
    assert "not restarted again" in api["last_error"]

    # The same container all along, restarted without a second build.
    runner_log = logs_of(stack.ctx.docker.containers.get(container_id))
    assert runner_log.count("==> Build: python3 build.py") == 1, runner_log
    assert runner_log.count("==> Restart: the health check GET /healthz") == 2, runner_log


def test_a_runner_over_its_memory_limit_shows_out_of_memory(
    health_stack: Callable[..., Stack],
    client: TestClient,
) -> None:
    stack = health_stack(
        memory_mb=64,
        start_command="python3 -c \"hog = b'x' * (256 << 20); print(len(hog))\"",
    )
    deployment_id = queue_deployment(stack)
    run_deploy(deployment_id, ctx=stack.ctx)
    deployment = stack.wait_for(deployment_id, {DeploymentStatus.FAILED}, timeout=1)
    container = stack.container(deployment)
    assert container.attrs["HostConfig"]["Memory"] == 64 << 20  # the project's own limit
    assert container.attrs["State"]["OOMKilled"] is True
    assert deployment.error == "Start ran out of memory (its limit is 64 MB) and was killed"
    assert deployment.failure_step is DeployStep.START
    assert deployment.exit_code == 137
    assert deployment.failure_lines is not None
    assert deployment.failure_lines[-1] == (
        "==> Start ran out of memory (its limit is 64 MB) and was killed"
    )
    page = page_of(stack, client, deployment_id)
    assert "out of memory" in page[page.index('id="deployment-status"') :]

    # A running app that goes over its limit later: the health check's thread notices.
    stack.update_project(
        start_command="HOG_MB=256 python3 health_app.py", health_interval_seconds=1
    )
    running_id = queue_deployment(stack)
    run_deploy(running_id, ctx=stack.ctx)
    running = stack.wait_for(running_id, {DeploymentStatus.RUNNING}, timeout=1)
    with pytest.raises(httpx.HTTPError):
        httpx.get(app_url(stack, running) + "eat", timeout=30)
    assert wait_exited(stack.container(running)) == "exited"
    checks = HealthWatch(stack.ctx)
    [watched] = [w for w in checks.running() if w.deployment_id == running_id]
    checks.check(watched)
    failed = stack.wait_for(running_id, {DeploymentStatus.FAILED}, timeout=1)
    assert failed.error == "The app ran out of memory (its limit is 64 MB) and was killed"
    assert run_reconcile(ctx=stack.ctx) == []  # already failed: nothing left for it


class _Healthz(BaseHTTPRequestHandler):
    """``/healthz`` fails with a body, ``/`` answers (a 502 of the app's own)."""

    def do_GET(self) -> None:
        code, body = (503, b"warming up") if self.path == "/healthz" else (502, b"")
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_check_through_the_proxys_probe_asks_the_path_and_reads_the_status(
    probing: Settings,
) -> None:
    """The Compose stack's worker reaches runners only through the proxy's probe socket."""
    closed = health.ask(probing, f"http://127.0.0.1:{free_port()}/", "/healthz")
    assert closed == health.Answer(error="the proxy could not connect to the runner")
    server = serve(_Healthz)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        assert health.ask(probing, url, "/healthz") == health.Answer(503, "warming up")
        assert health.ask(probing, url, "/") == health.Answer(502, "")
    finally:
        server.shutdown()
        server.server_close()
