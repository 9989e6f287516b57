"""The log views, the logs API and ``devpush logs`` on a real Loki (and Alloy for one test).

Lines are pushed to Loki's push API with the labels Alloy gives runner lines (the
deployment's real ids from the database), except in the first test, where a labelled
busybox runner's output goes the whole way through Docker's json file and Alloy.
Collected only with ``pytest --pipeline`` (docs/logging.md).
"""

from __future__ import annotations

import contextlib
import html
import re
import time
import uuid
from pathlib import Path

import docker
import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.cli.config import CONFIG_ENV
from devpush.core.config import Settings
from devpush.models import Deployment, User
from devpush.services.deployments import create_deployment
from tests.e2e.logs.support import runner_for
from tests.e2e.pipeline.support import labels_of
from tests.fixtures.web import PASSWORD, TwoTeams, deployment_of, log_in

pytestmark = pytest.mark.docker

SECOND = 1_000_000_000
Line = tuple[dict[str, str], int, str]


@pytest.fixture
def loki_url(loki_server) -> str:  # type: ignore[no-untyped-def]
    return loki_server.url


def push(loki_url: str, lines: list[Line]) -> None:
    streams: dict[tuple[tuple[str, str], ...], list[list[str]]] = {}
    for labels, ts, line in lines:
        streams.setdefault(tuple(sorted(labels.items())), []).append([str(ts), line])
    body = {"streams": [{"stream": dict(k), "values": v} for k, v in streams.items()]}
    response = httpx.post(f"{loki_url}/loki/api/v1/push", json=body, timeout=30)
    assert response.status_code == 204, response.text


def api_lines(client: TestClient, token: str, project: str, **params: object) -> list[str]:
    """Every line of a query, oldest first, following ``next`` (asserts no page repeats)."""
    headers = {"Authorization": f"Bearer {token}"}
    query = {"direction": "forward", "limit": 1000, **params}
    response = client.get(f"/api/v1/projects/{project}/logs", params=query, headers=headers)
    lines: list[str] = []
    for _ in range(1000):
        assert response.status_code == 200, response.text
        page = response.json()
        lines += [item["line"] for item in page["items"]]
        if page["next"] is None:
            return lines
        response = client.get(page["next"], headers=headers)
    raise AssertionError("paging did not finish")


def wait_count(client: TestClient, token: str, project: str, count: int, **params: object) -> None:
    deadline = time.monotonic() + 60
    while len(api_lines(client, token, project, **params)) < count:
        assert time.monotonic() < deadline, f"Loki did not show {count} lines in time"
        time.sleep(0.3)


def second_deployment(
    sessions: sessionmaker[Session], queue, project_id: str, branch: str
) -> Deployment:  # type: ignore[no-untyped-def]
    """Another deployment of the project, on a preview branch (its own environment)."""
    with sessions() as session:
        first = session.query(Deployment).filter_by(project_id=project_id).first()
        assert first is not None
        user = session.query(User).first()
        created = create_deployment(
            session, project=first.project, branch=branch, created_by=user, queue=queue
        )
        session.commit()
        return deployment_of(sessions, created.id)


def shown_lines(page_html: str) -> list[str]:
    """The text of each rendered row (``log-text`` spans), unescaped."""
    rows = re.findall(r'<span class="log-text">(.*?)</span>\n</li>', page_html, re.DOTALL)
    return [html.unescape(re.sub(r"<[^>]+>", "", row)) for row in rows]


def test_runner_lines_through_alloy_show_on_the_deployment_page(
    client: TestClient,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    alloy_running,  # type: ignore[no-untyped-def]
) -> None:
    alice = two_teams.alice
    dep = deployment_of(sessions, alice.deployment_id)
    engine = docker.DockerClient(base_url=Settings().docker_host)
    container = engine.containers.run(
        "devpush/busybox:local",
        ["sh", "-c", 'echo "hello from the runner"; echo "<script>alert(1)</script>" >&2'],
        labels=runner_for(sessions, dep.id).labels(),
        log_config=docker.types.LogConfig(type="json-file"),
        detach=True,
    )
    try:
        container.wait(timeout=60)
        wait_count(client, alice.token, alice.project_id, 2, deployment=dep.id)
        log_in(client, alice.email)
        panel = client.get(f"/projects/{alice.project_slug}/logs/panel?deployment={dep.id}")
        assert panel.status_code == 200
        assert shown_lines(panel.text) == ["hello from the runner", "<script>alert(1)</script>"]
        assert "<script>alert" not in panel.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in panel.text
        assert 'class="log-line stream-stderr' in panel.text
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
        engine.close()


def test_project_page_under_each_filter(
    client: TestClient,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    queue,  # type: ignore[no-untyped-def]
    loki_server,  # type: ignore[no-untyped-def]
) -> None:
    alice = two_teams.alice
    prod = deployment_of(sessions, alice.deployment_id)
    preview = second_deployment(sessions, queue, alice.project_id, "feature/filters")
    now = time.time_ns() - 60 * SECOND
    lines: list[Line] = [
        (labels_of(prod), now, "prod out INFO started"),
        (labels_of(prod, "stderr"), now + 1, "prod err ERROR failed"),
        (labels_of(preview), now + 2, "preview out WARN careful"),
        (labels_of(preview, "stderr"), now + 3, "preview err plain"),
    ]
    push(loki_server.url, lines)
    wait_count(client, alice.token, alice.project_id, 4)
    log_in(client, alice.email)
    base = f"/projects/{alice.project_slug}/logs"
    cases = {
        "": [line for *_, line in lines],
        f"environment={prod.environment_id}": ["prod out INFO started", "prod err ERROR failed"],
        "branch=feature/filters": ["preview out WARN careful", "preview err plain"],
        f"deployment={preview.id}": ["preview out WARN careful", "preview err plain"],
        "stream=stderr": ["prod err ERROR failed", "preview err plain"],
        "level=error": ["prod err ERROR failed"],
        "level=warning": ["preview out WARN careful"],
        "q=PLAIN": ["preview err plain"],
        "q=%5Eprod.%2AERROR&regex=1": ["prod err ERROR failed"],
    }
    for params, expected in cases.items():
        page = client.get(f"{base}?{params}")
        assert page.status_code == 200, (params, page.text[:500])
        assert shown_lines(page.text) == expected, params
        assert 'class="log-volume"' in page.text  # the histogram over the range
    # The deployment page's panel: only that deployment, live while it is not finished.
    panel = client.get(f"{base}/panel?deployment={prod.id}")
    assert shown_lines(panel.text) == ["prod out INFO started", "prod err ERROR failed"]
    assert "data-stream-url=" in panel.text


@pytest.mark.parametrize("needle", ['"', "\\", ".", "("])
def test_search_finds_special_characters(
    client: TestClient,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    loki_server,  # type: ignore[no-untyped-def]
    needle: str,
) -> None:
    alice = two_teams.alice
    dep = deployment_of(sessions, alice.deployment_id)
    tag = uuid.uuid4().hex[:8]
    texts = [f"{tag} say {needle}hi{needle}", f"{tag} nothing special", f"{tag} x{needle}y"]
    now = time.time_ns() - 30 * SECOND
    push(
        loki_server.url,
        [(labels_of(dep), now + i, t) for i, t in enumerate(texts)],
    )
    wait_count(client, alice.token, alice.project_id, 3, q=tag)
    got = api_lines(client, alice.token, alice.project_id, q=f"{tag} say {needle}")
    assert got == [texts[0]]
    got = api_lines(client, alice.token, alice.project_id, q=needle, deployment=dep.id)
    assert [t for t in got if t.startswith(tag)] == [texts[0], texts[2]]


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_paging_twenty_thousand_lines_each_exactly_once(
    client: TestClient,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    loki_server,  # type: ignore[no-untyped-def]
    direction: str,
) -> None:
    alice = two_teams.alice
    dep = deployment_of(sessions, alice.deployment_id)
    count = 20_000
    base = time.time_ns() - 30 * 60 * SECOND
    tag = uuid.uuid4().hex[:8]
    lines = [
        # Three lines per nanosecond, over both streams: pages cut through shared timestamps.
        (labels_of(dep, "stderr" if i % 2 else "stdout"), base + i // 3, f"{tag} line {i}")
        for i in range(count)
    ]
    for start in range(0, count, 5000):
        push(loki_server.url, lines[start : start + 5000])
    window = {"since": str(base), "until": str(base + count), "q": tag}
    wait_count(client, alice.token, alice.project_id, count, **window)
    got = api_lines(client, alice.token, alice.project_id, direction=direction, limit=997, **window)
    assert len(got) == count
    assert sorted(got) == sorted(line for *_, line in lines)


def _web_session(url: str, email: str) -> httpx.Client:
    http = httpx.Client(base_url=url, timeout=httpx.Timeout(30.0, read=None))
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text)
    assert token
    response = http.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.status_code in (200, 303), response.text
    return http


def test_live_mode_shows_a_new_line_within_the_latency(
    live_url: str,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    loki_server,  # type: ignore[no-untyped-def]
    record_property,  # type: ignore[no-untyped-def]
) -> None:
    alice = two_teams.alice
    dep = deployment_of(sessions, alice.deployment_id)
    settings = Settings()
    bound = settings.log_tail_delay_seconds + settings.log_tail_poll_seconds + 2.0
    text = f"live {uuid.uuid4().hex}"
    with _web_session(live_url, alice.email) as http:
        url = f"/projects/{alice.project_slug}/logs/stream"
        params = {"deployment": dep.id, "cursor": f"{time.time_ns()}:"}
        with http.stream("GET", url, params=params) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            pushed = time.monotonic()
            push(loki_server.url, [(labels_of(dep), time.time_ns(), text)])
            event = None
            for raw in response.iter_lines():
                if raw.startswith("event: "):
                    event = raw.removeprefix("event: ")
                elif raw.startswith("data: ") and event == "line" and text in raw:
                    latency = time.monotonic() - pushed
                    break
                assert event != "error", raw
                assert time.monotonic() - pushed < bound + 5, "the line never came"
            else:
                raise AssertionError("the stream ended before the line came")
    record_property("live_tail_latency_s", round(latency, 3))
    print(f"live tail latency: {latency:.2f}s (bound {bound:.1f}s)")
    assert latency < bound


def test_isolation_with_real_data(
    client: TestClient,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    loki_server,  # type: ignore[no-untyped-def]
) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    mine, theirs = (
        deployment_of(sessions, alice.deployment_id),
        deployment_of(sessions, bob.deployment_id),
    )
    tag = uuid.uuid4().hex[:8]
    now = time.time_ns() - 20 * SECOND
    push(
        loki_server.url,
        [
            (labels_of(mine), now, f"{tag} alice's line"),
            (labels_of(theirs), now + 1, f"{tag} bob's secret"),
        ],
    )
    wait_count(client, bob.token, bob.project_id, 1, q=tag)
    # Same slug "shop" in both teams, same branch: Alice sees her line only, however asked.
    for params in ({}, {"branch": theirs.branch}, {"q": "secret"}, {"q": ".*", "regex": "1"}):
        got = api_lines(client, alice.token, "shop", **{"q": tag, **params})
        assert all("bob" not in line for line in got), params
    headers = {"Authorization": f"Bearer {alice.token}"}
    assert client.get(f"/api/v1/projects/{bob.project_id}/logs", headers=headers).status_code == 404
    response = client.get(
        "/api/v1/projects/shop/logs", params={"deployment": theirs.id}, headers=headers
    )
    assert response.status_code == 404
    log_in(client, alice.email)
    page = client.get("/projects/shop/logs", params={"q": tag})
    assert shown_lines(page.text) == [f"{tag} alice's line"]
    download = client.get("/projects/shop/logs/download", params={"q": tag, "format": "ndjson"})
    assert download.status_code == 200 and "bob" not in download.text and "alice" in download.text


def test_cli_prints_lines_and_json(
    live_url: str,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    loki_server,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    alice = two_teams.alice
    dep = deployment_of(sessions, alice.deployment_id)
    tag = uuid.uuid4().hex[:8]
    now = time.time_ns() - 10 * SECOND
    push(loki_server.url, [(labels_of(dep, "stderr"), now, f"{tag} \x1b[31mred\x1b[0m")])
    runner = CliRunner()
    env = {CONFIG_ENV: str(tmp_path / "cli.json"), "COLUMNS": "200"}
    login = ["login", "--url", live_url, "--email", alice.email, "--password", PASSWORD]
    assert runner.invoke(cli, login, env=env).exit_code == 0
    deadline = time.monotonic() + 30
    while True:
        result = runner.invoke(cli, ["logs", "shop", "--grep", tag, "--json"], env=env)
        assert result.exit_code == 0, result.output
        if tag in result.output or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert f'"line": "{tag} \\u001b[31mred\\u001b[0m"' in result.output
    result = runner.invoke(cli, ["logs", "shop", "--grep", tag, "--stream", "stderr"], env=env)
    assert result.exit_code == 0
    assert f" {dep.id[:8]} err {tag} \x1b[31mred\x1b[0m" in result.output
