"""The production Compose stack, built here and run for real (tests/compose/stack.py).

docker-compose.yml with the VictoriaLogs option and docker-compose.local.yml, nothing else
changed, installed as scripts/prod/install.sh lays it out into a temporary root. The tests
run in order on one stack: it comes up healthy, deploys examples/hello-python through the
API, serves it over HTTPS through the Caddy container (Caddy's internal CA), shows its
lines through the API and the CLI, and keeps projects, deployments and stored lines over
``down`` and ``up``. Then it attacks the stack: the collector and the store stopped while
lines stream, each route resolver SIGKILLed and the worker SIGKILLed mid-build, and
scripts/prod/update.sh run on the app, with a client asking the deployed URL every 20 ms
(tests/compose/probe.py) where a visitor would notice. Everything it made (containers,
networks, volumes, images of the deployments, the root) is removed afterwards, pass or fail.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import tarfile
import threading
import time
import tomllib
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.models.containers import Container

from devpush.services.proxy_config import RETRY_SECONDS
from devpush.workers.tasks.reconcile import ABANDONED_ERROR
from tests.compose.probe import Probe, in_background, probing
from tests.compose.stack import (
    DOMAIN,
    REPO,
    VICTORIALOGS_SERVICES,
    ComposeStack,
    next_app_image,
    release_files,
    run,
)
from tests.compose.stack_calls import api, curl_https, https_body, wait_until

pytestmark = pytest.mark.docker

BUILD_LINE = "Build finished"  # examples/hello-python/build.py
REQUEST_LINE = '"GET / HTTP/1.1" 200'  # its app.py, one line per request


def stored_lines(stack: ComposeStack, slug: str, q: str = "") -> dict[str, str]:
    """The project's stored lines of the last hour by id (containing ``q``), by the API."""
    params = {"since": "1h", "limit": "500", **({"q": q} if q else {})}
    page = api(stack, "GET", f"/projects/{slug}/logs", params=params)
    return {item["id"]: item["line"] for item in page["items"]}


def test_install_layout_and_every_service_up(stack: ComposeStack) -> None:
    services = stack.services()
    expected = VICTORIALOGS_SERVICES
    assert set(services) == expected  # the VictoriaLogs option: no Loki, Alloy or its door
    assert services["migrate"]["State"] == "exited"
    assert services["migrate"]["ExitCode"] == 0
    for name in expected - {"migrate"}:
        assert services[name]["State"] == "running", (name, services[name])
    healthy = ("app", "postgres", "redis", "docker-proxy-worker", "victorialogs")
    for name in (*healthy, "resolver", "resolver-2"):
        assert services[name]["Health"] == "healthy", (name, services[name])
    # install.sh's layout: the data dirs are the app's, the proxy's socket dir its own.
    assert (stack.data_root / "data").stat().st_uid == 10001
    assert (stack.data_root / "caddy/admin").stat().st_mode & 0o777 == 0o700
    # Every app-image service reads the one log store.
    config = json.loads(stack.must("config", "--format", "json"))
    for name in ("migrate", "app", "worker", "resolver", "resolver-2"):
        environment = config["services"][name]["environment"]
        assert environment["DEVPUSH_LOG_STORE"] == "victorialogs", name
        assert environment["DEVPUSH_LOG_STORE_URL"] == "http://victorialogs:9428", name
    # Several web processes (DEVPUSH_WEB_WORKERS=2): uvicorn's supervisor and two workers.
    ps = stack.must(
        "exec", "-T", "app", "python", "-c",
        "import os, pathlib; print(sum(b'spawn_main' in p.read_bytes()"
        " for p in pathlib.Path('/proc').glob('[0-9]*/cmdline')"
        " if p.parent.name != str(os.getpid())))",
    )  # fmt: skip
    assert int(ps.strip()) == 2


def test_deploy_through_the_api_and_https_through_caddy(stack: ComposeStack) -> None:
    out = stack.must(
        "exec", "-T", "-e", "DEVPUSH_ADMIN_PASSWORD", "app",
        "devpush", "admin", "ensure-user", "--email", stack.admin_email,
    )  # fmt: skip
    assert "Created user" in out
    stack.wait_for_api()
    token = api(
        stack, "POST", "/tokens",
        json={"email": stack.admin_email, "password": stack.admin_password, "name": "e2e"},
    )  # fmt: skip
    stack.token = token["token"]
    project = api(
        stack, "POST", "/projects",
        json={
            "name": "hello", "slug": "hello", "repo_url": "/data/repos/hello-python",
            "build_command": "python3 build.py", "start_command": "python3 app.py", "port": 8000,
        },
    )  # fmt: skip
    stack.env_values["E2E_PROJECT_ID"] = project["id"]
    deployment = api(stack, "POST", "/projects/hello/deployments", json={})

    def running() -> dict[str, Any] | None:
        row = api(stack, "GET", f"/deployments/{deployment['id']}")
        assert row["status"] not in {"failed", "stopped"}, row
        return row if row["status"] == "running" else None

    wait_until("the deployment runs", running, timeout=180, stack=stack)
    host = f"hello.{DOMAIN}"
    # The first handshake gets the certificate on demand (the app allows the host).
    body = https_body(stack, host, "Caddy answers over HTTPS")
    assert "hello" in body.lower()


def test_lines_through_the_api_and_the_cli(stack: ComposeStack) -> None:
    assert stack.token, "the deploy test made the token"
    curl_https(stack, f"hello.{DOMAIN}")  # one more request line
    lines = wait_until(
        "the build and request lines are stored",
        lambda: (
            (got := stored_lines(stack, "hello"))
            and any(REQUEST_LINE in line for line in got.values())
            and got
        ),
        timeout=60,
        stack=stack,
    )
    # One build: its last line stored once.
    assert sum(line == BUILD_LINE for line in lines.values()) == 1, lines
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(stack.root),
        "DEVPUSH_URL": stack.api_url,
        "DEVPUSH_TOKEN": stack.token,
    }
    proc = run(
        ["uv", "run", "--frozen", "--quiet", "devpush", "logs", "hello", "--since", "1h"],
        timeout=120,
        env=env,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert BUILD_LINE in proc.stdout
    assert REQUEST_LINE in proc.stdout
    assert stack.token not in proc.stdout + proc.stderr


def test_down_then_up_keeps_projects_deployments_and_lines(stack: ComposeStack) -> None:
    before_projects = api(stack, "GET", "/projects")
    before_deployments = api(stack, "GET", "/projects/hello/deployments")
    before_lines = stored_lines(stack, "hello")
    assert before_lines
    # The runner is not Compose's: it keeps running, and keeps the runner network.
    stack.must("down", "--timeout", "10", timeout=180)
    assert not stack.services()
    stack.up()
    stack.wait_for_api()
    assert [p["id"] for p in api(stack, "GET", "/projects")] == [p["id"] for p in before_projects]
    after = api(stack, "GET", "/projects/hello/deployments")
    assert [(d["id"], d["status"]) for d in after] == [
        (d["id"], d["status"]) for d in before_deployments
    ]
    after_lines = stored_lines(stack, "hello")
    assert before_lines.items() <= after_lines.items()
    # Caddy resumed its saved config and kept its CA: the same URL answers again.
    https_body(stack, f"hello.{DOMAIN}", "Caddy answers over HTTPS after up")


def crash(stack: ComposeStack, service: str) -> str:
    """SIGKILL the service's process from the host, as a crash would, and wait for Docker
    to restart its container (restart: unless-stopped); the container's id. (`docker kill`
    would count as a manual stop, which the restart policy leaves stopped.)"""
    container = stack.must("ps", "--quiet", service).strip()

    def state() -> tuple[int, int, bool]:
        proc = run(
            [
                "docker",
                "inspect",
                "--format",
                "{{.State.Pid}} {{.RestartCount}} {{.State.Running}}",
                container,
            ],
            timeout=30,
        )
        assert proc.returncode == 0, (service, proc.stderr)
        pid, restarts, running = proc.stdout.split()
        return int(pid), int(restarts), running == "true"

    pid, restarts, running = state()
    assert running and pid > 0, (service, pid)
    os.kill(pid, signal.SIGKILL)
    wait_until(
        f"Docker restarts {service}",
        lambda: (now := state())[1] > restarts and now[2],
        timeout=30,
        stack=stack,
    )
    return container


def wait_healthy(stack: ComposeStack, service: str, timeout: float = 60) -> None:
    def healthy() -> bool:
        row = stack.services()[service]
        return bool(row["State"] == "running" and row["Health"] in ("healthy", ""))

    wait_until(f"{service} running and healthy", healthy, timeout=timeout, stack=stack)


def start_requests(stack: ComposeStack, marker: str, count: int) -> subprocess.Popen[str]:
    """``count`` numbered requests through Caddy, 100 a second: one runner line each."""
    root_cert = stack.data_root / "caddy/data/caddy/pki/authorities/local/root.crt"
    host = f"hello.{DOMAIN}"
    urls = [f"https://{host}:{stack.https_port}/{marker}-{n:04d}" for n in range(count)]
    return subprocess.Popen(
        [
            "curl", "-sS", "--fail", "--cacert", str(root_cert), "--rate", "100/s",
            "--resolve", f"{host}:{stack.https_port}:127.0.0.1",
            *[arg for url in urls for arg in ("-o", "/dev/null", url)],
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def finish(requests: subprocess.Popen[str]) -> None:
    try:
        _, errors = requests.communicate(timeout=120)
    finally:
        if requests.poll() is None:
            requests.kill()
            requests.wait()
    assert requests.returncode == 0, errors


def assert_each_line_once(stack: ComposeStack, marker: str, count: int) -> None:
    """Every numbered request stored once as the app's line and once as the proxy's request
    entry, none twice (waits for the collector to catch up)."""

    def stored_numbers(source: str) -> list[int]:
        page = api(
            stack, "GET", "/projects/hello/logs",
            params={"since": "1h", "q": marker, "stream": source, "limit": 1000},
        )  # fmt: skip
        return sorted(int(item["line"].split(f"/{marker}-")[1][:4]) for item in page["items"])

    for source in ("stdout", "request"):
        deadline = time.monotonic() + 90
        while len(numbers := stored_numbers(source)) < count and time.monotonic() < deadline:
            time.sleep(2)
        missing = sorted(set(range(count)) - set(numbers))
        doubled = sorted({n for n in numbers if numbers.count(n) > 1})
        assert (missing, doubled) == ([], []), f"{source}: {len(numbers)} stored of {count}"


def test_collector_killed_mid_stream_loses_and_doubles_no_line(stack: ComposeStack) -> None:
    """SIGKILL the collector's process while requests stream lines; Docker restarts it
    (restart: unless-stopped) and it resumes from its saved positions: each line once."""
    assert stack.token, "the deploy test made the token"
    marker, count = f"seq-{uuid.uuid4().hex[:8]}", 300
    requests = start_requests(stack, marker, count)
    try:
        time.sleep(1.0)  # about a third of the lines written
        crash(stack, "otelcol")
    finally:
        finish(requests)

    assert_each_line_once(stack, marker, count)


def test_store_restarted_keeps_its_lines_and_gets_the_queued_ones(stack: ComposeStack) -> None:
    """VictoriaLogs stopped while lines are written, then started: the collector's queue
    on disk delivers them, and the lines stored before are still there."""
    before = stored_lines(stack, "hello", q="Build")
    assert before
    marker, count = f"down-{uuid.uuid4().hex[:8]}", 100
    stack.must("stop", "--timeout", "10", "victorialogs", timeout=60)
    try:
        finish(start_requests(stack, marker, count))
    finally:
        stack.must("up", "-d", "--no-recreate", "--wait", "victorialogs", timeout=120)
    assert_each_line_once(stack, marker, count)
    assert stored_lines(stack, "hello", q="Build") == before


def probe_hello(stack: ComposeStack) -> AbstractContextManager[Probe]:
    """The deployed hello app through Caddy, every 20 ms, for a ``with`` block."""
    root_cert = stack.data_root / "caddy/data/caddy/pki/authorities/local/root.crt"
    return probing(root_cert, f"hello.{DOMAIN}", stack.https_port)


def test_route_resolvers_killed_one_then_the_other_fail_no_request(stack: ComposeStack) -> None:
    """Caddy asks either resolver (DEVPUSH_PROXY_RESOLVER_ADDR): SIGKILL one while a client
    asks the deployed URL every 20 ms, let Docker restart it, then the other, then stop one
    for longer than Caddy retries a lookup (one resolver alone fails this part): 0 failures."""
    with probe_hello(stack) as probe:
        for service in ("resolver", "resolver-2"):
            time.sleep(2)
            before = probe.count
            killed = crash(stack, service)
            # The same container, restarted: healthy again before the other one is killed.
            wait_healthy(stack, service)
            assert stack.must("ps", "--quiet", service).strip() == killed
            assert probe.count - before > 50, "the probe stalled while a resolver was down"
        # Killed and left down for longer than Caddy retries a lookup (try_duration): Docker
        # restarted the crashed ones within Caddy's retries, but only the other resolver
        # can answer now.
        stack.must("stop", "--timeout", "0", "resolver")
        try:
            time.sleep(RETRY_SECONDS + 3)
        finally:
            stack.must("start", "resolver")
        wait_healthy(stack, "resolver")
        time.sleep(2)
    assert probe.failures == [], f"{len(probe.failures)} of {probe.count} failed"
    assert probe.count > 300


def test_worker_killed_mid_build_ends_the_deployment_failed(stack: ComposeStack) -> None:
    """The worker's process SIGKILLed while it follows a build (its build command sleeps):
    Docker restarts it, and the build it lost never stays ``building``: once no live job
    could follow it any more (reconcile.abandoned_after, 17 minutes by default; the row's
    start is moved back instead of waiting), the restarted worker's reconcile job (huey
    runs it at the worker's start, then every minute) marks it failed, saying why, and
    stops its runner."""
    api(
        stack, "POST", "/projects",
        json={
            "name": "slow", "slug": "slow", "repo_url": "/data/repos/hello-python",
            "build_command": "sleep 600", "start_command": "python3 app.py", "port": 8000,
        },
    )  # fmt: skip
    deployment_id = api(stack, "POST", "/projects/slow/deployments", json={})["id"]
    client = docker.from_env()
    try:

        def build_running() -> Container | None:
            row = api(stack, "GET", f"/deployments/{deployment_id}")
            assert row["status"] in {"queued", "building"}, row
            found = client.containers.list(
                filters={"label": f"devpush.deployment_id={deployment_id}"}
            )
            return found[0] if row["status"] == "building" and found else None

        # Killed once the build runs in its runner (the worker is following it).
        runner = wait_until("the slow build runs", build_running, timeout=120, stack=stack)
        crash(stack, "worker")
        # The restart itself changes no row (tests/e2e/test_deploy.py checks that the
        # reconcile job leaves a build alone within a live job's limits).
        assert api(stack, "GET", f"/deployments/{deployment_id}")["status"] == "building"
        # Past those limits: the row's start moved back.
        psql(
            stack,
            "UPDATE deployments SET started_at = started_at - interval '1 hour'"
            f" WHERE id = '{deployment_id}'",
        )

        def ended() -> dict[str, Any] | None:
            row: dict[str, Any] = api(stack, "GET", f"/deployments/{deployment_id}")
            return row if row["status"] not in {"queued", "building"} else None

        row = wait_until("the reconcile job ends the build", ended, timeout=90, stack=stack)
        assert row["status"] == "failed", row
        assert row["error"] == ABANDONED_ERROR

        def runner_stopped() -> bool:
            runner.reload()
            return bool(runner.status == "exited")

        # Stopped by the same job, just after the row changed.
        wait_until("the lost build's runner stops", runner_stopped, timeout=30, stack=stack)
    finally:
        client.close()
    # The other project's deployment was never touched.
    proc = curl_https(stack, f"hello.{DOMAIN}")
    assert proc.stdout.endswith("\n200"), proc.stdout


def psql(stack: ComposeStack, sql: str) -> str:
    return stack.must(
        "exec", "-T", "postgres", "psql", "-v", "ON_ERROR_STOP=1", "-U", "devpush", "-d",
        "devpush", "-c", sql,
    )  # fmt: skip


APP_SERVICES = ("app", "resolver", "resolver-2")  # scripts/lib.sh: the `app` component


def release_tarball(path: Path, app_image: str) -> None:
    """The release as update.sh takes it (one top directory), whose images are the
    server's own under a new tag: what a rebuilt image is to Compose."""
    local_file = "docker-compose.local.yml"
    with tarfile.open(path, "w:gz") as tar:
        for name in release_files():
            if name != local_file:
                tar.add(REPO / name, arcname=f"devpush-next/{name}")
        text = (REPO / local_file).read_text().replace("devpush/app:local", app_image)
        info = tarfile.TarInfo(f"devpush-next/{local_file}")
        info.size = len(text.encode())
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(text.encode()))


@contextmanager
def watch_resolvers(stack: ComposeStack) -> Iterator[list[int]]:
    """The fewest route resolver containers seen running at once (every 50 ms) during the
    block, in a list that holds it once the block ends."""
    fewest: list[int] = []
    seen: list[int] = []
    stop = threading.Event()
    client = docker.from_env()
    filters = {"label": f"com.docker.compose.project={stack.project}", "status": "running"}

    def watch() -> None:
        while not stop.is_set():
            running = client.containers.list(filters=filters)
            seen.append(
                sum(
                    c.labels.get("com.docker.compose.service") in ("resolver", "resolver-2")
                    for c in running
                )
            )
            stop.wait(0.05)

    try:
        with in_background("watch resolvers", watch, stop.set):
            yield fewest
    finally:
        client.close()
        fewest.append(min(seen, default=0))


def test_update_app_keeps_the_deployed_app_answering(stack: ComposeStack) -> None:
    """scripts/prod/update.sh app (the app and both route resolvers, the resolvers one at a
    time) on the server's own images (DEVPUSH_LOCAL_IMAGES=1: nothing built or pulled),
    while a client asks the deployed URL every 20 ms: 0 failures, and the app answers
    after, on the new release's image."""
    # The installed version again (no upgrade hook runs), as install.sh records it.
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    (stack.data_root / "version").write_text(f"{version}\n")
    app_image = next_app_image(stack)
    tagged = run(["docker", "tag", "devpush/app:local", app_image], timeout=30)
    assert tagged.returncode == 0, tagged.stderr
    tarball = stack.root / "devpush-next.tar.gz"
    release_tarball(tarball, app_image)
    before = {service: stack.must("ps", "--quiet", service).strip() for service in APP_SERVICES}
    env = {
        **stack.process_env(),
        "NO_COLOR": "1",
        "DEVPUSH_APP_DIR": str(stack.app_dir),
        "COMPOSE_PROJECT_NAME": stack.project,
        "DEVPUSH_LOCAL_IMAGES": "1",
    }
    with probe_hello(stack) as probe, watch_resolvers(stack) as fewest:
        time.sleep(2)
        proc = run(
            [
                "bash",
                str(REPO / "scripts/prod/update.sh"),
                "--version",
                version,
                "--tarball",
                str(tarball),
                "app",
            ],
            timeout=600,
            env=env,
        )
        time.sleep(2)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert "not building or pulling" in proc.stdout
    assert probe.failures == [], f"{len(probe.failures)} of {probe.count} failed"
    assert probe.count > 100
    # Caddy's retries would hide a short gap; the resolvers' restarts one at a time leave
    # none: a resolver always ran.
    assert fewest[0] >= 1, fewest
    services = stack.services()
    for service in APP_SERVICES:
        assert (
            not before[service].startswith(services[service]["ID"])
            and services[service]["Image"] == app_image
        ), services[service]
    stack.wait_for_api()
    assert api(stack, "GET", "/projects/hello")["slug"] == "hello"
    proc = curl_https(stack, f"hello.{DOMAIN}")
    assert proc.stdout.endswith("\n200"), proc.stdout
