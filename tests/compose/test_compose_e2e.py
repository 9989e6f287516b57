"""The production Compose stack, built here and run for real (tests/compose/stack.py).

docker-compose.yml with the VictoriaLogs option and docker-compose.local.yml, nothing else
changed, installed as scripts/prod/install.sh lays it out into a temporary root. The tests
run in order on one stack: it comes up healthy, deploys examples/hello-python through the
API, serves it over HTTPS through the Caddy container (Caddy's internal CA), shows its
lines through the API and the CLI, and keeps projects, deployments and stored lines over
``down`` and ``up``. Everything it made (containers, networks, volumes, images of the
deployments, the root) is removed afterwards, pass or fail.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from typing import Any

import pytest

from tests.compose.stack import DOMAIN, REPO, ComposeStack, run

pytestmark = pytest.mark.docker

BUILD_LINE = "Build finished"  # examples/hello-python/build.py
REQUEST_LINE = '"GET / HTTP/1.1" 200'  # its app.py, one line per request


def api(stack: ComposeStack, method: str, path: str, **kwargs: Any) -> Any:
    with stack.client() as client:
        response = client.request(method, f"/api/v1{path}", **kwargs)
    assert response.status_code < 300, (method, path, response.status_code, response.text)
    return response.json()


def wait_until(what: str, check: Any, *, timeout: float, stack: ComposeStack) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f}s\n{stack.tail_logs()}"
        time.sleep(1)


def curl_https(stack: ComposeStack, host: str) -> subprocess.CompletedProcess[str]:
    """GET https://host/ through the published Caddy port, trusting only Caddy's root."""
    root_cert = stack.data_root / "caddy/data/caddy/pki/authorities/local/root.crt"
    return run(
        [
            "curl", "-sS", "--max-time", "15", "--cacert", str(root_cert),
            "--resolve", f"{host}:{stack.https_port}:127.0.0.1",
            "-w", "\n%{http_code}", f"https://{host}:{stack.https_port}/",
        ],
        timeout=30,
    )  # fmt: skip


def stored_lines(stack: ComposeStack, slug: str, q: str = "") -> dict[str, str]:
    """The project's stored lines of the last hour by id (containing ``q``), by the API."""
    params = {"since": "1h", "limit": "500", **({"q": q} if q else {})}
    page = api(stack, "GET", f"/projects/{slug}/logs", params=params)
    return {item["id"]: item["line"] for item in page["items"]}


def test_install_layout_and_every_service_up(stack: ComposeStack) -> None:
    services = stack.services()
    expected = {
        "migrate", "app", "worker", "resolver", "resolver-2", "proxy", "postgres", "redis",
        "docker-proxy-worker", "victorialogs", "otelcol",
    }  # fmt: skip
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
    proc = wait_until(
        "Caddy answers over HTTPS",
        lambda: (p := curl_https(stack, host)).returncode == 0 and p,
        timeout=60,
        stack=stack,
    )
    body, _, status = proc.stdout.rpartition("\n")
    assert status == "200", proc.stdout
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
    proc = wait_until(
        "Caddy answers over HTTPS after up",
        lambda: (p := curl_https(stack, f"hello.{DOMAIN}")).returncode == 0 and p,
        timeout=60,
        stack=stack,
    )
    assert proc.stdout.endswith("\n200"), proc.stdout


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
    """Every numbered line stored, none twice (waits for the collector to catch up)."""

    def stored_numbers() -> list[int]:
        page = api(
            stack, "GET", "/projects/hello/logs",
            params={"since": "1h", "q": marker, "limit": 1000},
        )  # fmt: skip
        return sorted(int(item["line"].split(f"/{marker}-")[1][:4]) for item in page["items"])

    deadline = time.monotonic() + 90
    while len(numbers := stored_numbers()) < count and time.monotonic() < deadline:
        time.sleep(2)
    missing = sorted(set(range(count)) - set(numbers))
    doubled = sorted({n for n in numbers if numbers.count(n) > 1})
    assert (missing, doubled) == ([], []), f"{len(numbers)} stored of {count}"


def test_collector_killed_mid_stream_loses_and_doubles_no_line(stack: ComposeStack) -> None:
    """SIGKILL the collector's process while requests stream lines; Docker restarts it
    (restart: unless-stopped) and it resumes from its saved positions: each line once."""
    assert stack.token, "the deploy test made the token"
    marker, count = f"seq-{uuid.uuid4().hex[:8]}", 300
    requests = start_requests(stack, marker, count)
    try:
        time.sleep(1.0)  # about a third of the lines written
        # The process itself, from the host: a crash. (`docker kill` would count as a
        # manual stop, which the restart policy leaves stopped.)
        container = stack.must("ps", "--quiet", "otelcol").strip()
        pid = run(["docker", "inspect", "--format", "{{.State.Pid}}", container], timeout=30)
        os.kill(int(pid.stdout), signal.SIGKILL)
    finally:
        finish(requests)

    def otelcol_running() -> bool:
        return bool(stack.services()["otelcol"]["State"] == "running")

    wait_until("Docker restarts the collector", otelcol_running, timeout=30, stack=stack)
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
