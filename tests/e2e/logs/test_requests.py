"""Request logs through the real proxy: Caddy → its access log → the collector → the store.

Alice's deployment gets a host in the proxy table, answered by a small HTTP server on
loopback standing in for its runner; Caddy asks two real route resolvers where it runs,
writes its JSON access log where the log stack's collector reads it, and the app reads
the entries back: the API, the Logs page, the deployment page and ``devpush logs`` show
each request with its status, path and duration, labelled with the deployment that
served it. Bob (another team) sees none, and a request for a host no deployment holds is
stored as the platform's, with no project.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.cli.config import CONFIG_ENV
from devpush.models import Deployment
from devpush.services import proxy_config
from devpush_dev.log_stacks import LogStack
from tests.e2e.logs.support import (
    ALICE_HOST,
    ARRIVAL_TIMEOUT,
    Proxy,
    StandInRunner,
    api_items,
    bearer,
    route_alice,
    serve_http,
    wait_api,
)
from tests.fixtures.web import PASSWORD, TwoTeams, log_in

pytestmark = pytest.mark.docker

#: A host under the domain that no deployment holds (the resolvers send it to Caddy's 404).
NOBODY_HOST = "nobody-here.localhost"
#: A branch that takes two DNS labels in the resolver's names (and is not ASCII).
LONG_BRANCH = "feature/requests-ünïcode_and.dots-0123456789-abcdefghij"


class _App(StandInRunner):
    """The stand-in runner: ``/fail…`` is a 500, ``/slow`` takes 300 ms, the rest 200."""

    def status_for(self, path: str) -> int:
        if path.startswith("/slow"):
            time.sleep(0.3)
        return 500 if path.startswith("/fail") else 200


@pytest.fixture
def app_server() -> Iterator[int]:
    yield from serve_http(_App)


@pytest.fixture
def http(live_url: str) -> Iterator[httpx.Client]:
    """The served app (a TestClient would open the same app on a second event loop)."""
    with httpx.Client(base_url=live_url, timeout=30) as client:
        yield client


def store_rows(stack: LogStack, query: str) -> list[dict[str, Any]]:
    """Every stored entry a LogsQL query matches, straight from VictoriaLogs."""
    httpx.get(f"{stack.store_url}/internal/force_flush", timeout=30)
    answer = httpx.post(f"{stack.store_url}/select/logsql/query", data={"query": query}, timeout=30)
    answer.raise_for_status()
    return [json.loads(line) for line in answer.text.splitlines() if line.strip()]


def test_requests_reach_the_api_labelled_by_their_deployment(
    client: TestClient,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    proxy: Proxy,
    app_server: int,
    running_log_stack: LogStack,
) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    route_alice(sessions, alice.deployment_id, app_server, branch=LONG_BRANCH)
    # Caddy runs the config with logging as built: the worker sees no reason to reload it.
    assert proxy_config.ensure_proxy_config(proxy.caddy.settings) is False
    assert proxy.get(ALICE_HOST, "/ok?token=s3cret&page=2").status_code == 200
    assert proxy.get(ALICE_HOST, "/fail").status_code == 500
    assert proxy.get(ALICE_HOST, "/slow").status_code == 200
    assert proxy.get(ALICE_HOST, "/ok", method="POST", content=b"x").status_code == 200
    missing = proxy.get(NOBODY_HOST, "/anything")
    assert missing.status_code == 404

    items = wait_api(client, alice.token, alice.project_slug, 4, stream="request")
    assert len(items) == 4
    by_path = {(item["request"]["method"], item["request"]["path"]): item for item in items}
    assert set(by_path) == {("GET", "/ok"), ("GET", "/fail"), ("GET", "/slow"), ("POST", "/ok")}
    for item in items:
        assert item["source"] == "request"
        assert item["stream"] is None
        assert item["deployment_id"] == alice.deployment_id
        request = item["request"]
        assert request["host"] == ALICE_HOST
        assert request["client"] == "127.0.0.1"  # the proxy's peer, not the runner's view
        assert request["user_agent"] == "reqlogs-e2e/1.0"
        assert isinstance(request["duration_ms"], float) and request["duration_ms"] >= 0
        assert isinstance(request["bytes"], int) and request["bytes"] > 0
        # The line reads like the request: "GET /ok 200 1.2ms".
        assert item["line"].startswith(
            f"{request['method']} {request['path']} {request['status']} "
        )
        assert item["line"].endswith("ms")
    # The query string is stripped by default: the token never reaches the store.
    assert by_path["GET", "/ok"]["request"]["status"] == 200
    assert by_path["GET", "/fail"]["request"]["status"] == 500
    assert by_path["GET", "/slow"]["request"]["duration_ms"] >= 250
    assert not store_rows(running_log_stack, '"s3cret"')
    with sessions() as session:
        deployment = session.get(Deployment, alice.deployment_id)
        assert deployment is not None
        assert {item["environment_id"] for item in items} == {deployment.environment_id}
        assert {item["branch"] for item in items} == {deployment.branch} == {LONG_BRANCH}

    # The download (the store writes its rows) keeps what a request entry is.
    downloaded = client.get(
        f"/api/v1/projects/{alice.project_slug}/logs/download",
        params={"format": "ndjson", "stream": "request"},
        headers=bearer(alice.token),
    )
    assert downloaded.status_code == 200, downloaded.text
    rows = [json.loads(row) for row in downloaded.text.splitlines()]
    assert sorted((r["source"], r["request.method"], r["request.path"]) for r in rows) == [
        ("request", "GET", "/fail"),
        ("request", "GET", "/ok"),
        ("request", "GET", "/slow"),
        ("request", "POST", "/ok"),
    ]
    text = client.get(
        f"/api/v1/projects/{alice.project_slug}/logs/download",
        params={"format": "txt", "stream": "request"},
        headers=bearer(alice.token),
    ).text
    assert sorted(line.split(" ", 2)[1:] for line in text.splitlines()) == sorted(
        ["request", item["line"]] for item in items
    )

    # The runner's streams still mean the runner's lines only.
    assert api_items(client, alice.token, alice.project_slug, stream="stdout") == []
    # Bob (another team) sees none of them: not in his project, not through Alice's.
    assert api_items(client, bob.token, bob.project_slug) == []
    assert api_items(client, bob.token, bob.project_slug, stream="request") == []
    denied = client.get(f"/api/v1/projects/{alice.project_id}/logs", headers=bearer(bob.token))
    assert denied.status_code == 404

    # The host no deployment holds: stored as the platform's, with no project at all.
    deadline = time.monotonic() + ARRIVAL_TIMEOUT
    while not (
        rows := store_rows(running_log_stack, f'source:=request "request.host":="{NOBODY_HOST}"')
    ):
        assert time.monotonic() < deadline, "the platform's 404 never reached the store"
        time.sleep(0.25)
    (row,) = [r for r in rows if r.get("request.path") == "/anything"]
    assert row["request.status"] == "404"
    assert not any(row.get(name) for name in ("project_id", "deployment_id", "environment_id"))


def test_requests_show_in_the_views_and_the_cli(
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    proxy: Proxy,
    app_server: int,
    live_url: str,
    http: httpx.Client,
    tmp_path: Path,
) -> None:
    client = http
    alice = two_teams.alice
    route_alice(sessions, alice.deployment_id, app_server)
    for path in ("/ok", "/ok", "/fail", "/missing-page"):
        proxy.get(ALICE_HOST, path)
    wait_api(client, alice.token, alice.project_slug, 4, stream="request")

    log_in(client, alice.email)  # type: ignore[arg-type]
    page = client.get(f"/projects/{alice.project_slug}/logs", params={"stream": "request"})
    assert page.status_code == 200, page.text
    html = page.text
    assert 'value="request" selected' in html  # the source drop-down offers the requests
    assert html.count("status-5xx") >= 1 and html.count("status-2xx") >= 2
    assert "GET /fail 500 " in html
    assert 'class="request-histogram"' in html  # bars by status class

    # The deployment page loads its request stats (over its life by default, or a range).
    deployment_page = client.get(
        f"/projects/{alice.project_slug}/deployments/{alice.deployment_id}"
    )
    stats_url = f"/projects/{alice.project_slug}/logs/requests/stats"
    assert f"{stats_url}?deployment={alice.deployment_id}" in deployment_page.text
    for chosen in ("", "1h"):
        stats = client.get(stats_url, params={"deployment": alice.deployment_id, "range": chosen})
        assert stats.status_code == 200, stats.text
        assert 'data-request-count="4"' in stats.text
        assert 'data-error-rate="25.0"' in stats.text  # one 5xx of four
        figures = re.findall(r"<dt>(p50|p95)</dt><dd>([0-9.]+) ms</dd>", stats.text)
        assert [name for name, _ in figures] == ["p50", "p95"], stats.text
        assert all(float(value) >= 0 for _, value in figures)

    env = {**os.environ, CONFIG_ENV: str(tmp_path / "cli" / "config.json"), "COLUMNS": "200"}
    login = ["login", "--url", live_url, "--email", alice.email, "--password", PASSWORD]
    runner = CliRunner()
    assert runner.invoke(cli, login, env=env).exit_code == 0
    result = runner.invoke(
        cli, ["logs", alice.project_slug, "--stream", "request", "--since", "1h"], env=env
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(" req GET /fail 500 " in line and f"host={ALICE_HOST}" in line for line in lines)
    assert sum(" req GET /ok 200 " in line for line in lines) == 2
