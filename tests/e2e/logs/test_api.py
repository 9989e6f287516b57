"""``/api/v1/projects/{ref}/logs`` and ``/logs/tail`` on the real store, fed by real runners.

Paging follows ``next`` newest first with no gap or repeat; every filter narrows to the
right lines; bad parameters are 422 and other teams' projects and ids 404; the NDJSON
tail delivers lines emitted after it started and resumes from a cursor repeating none.
The tail's line → client latency is measured and printed.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.e2e.logs.support import (
    PREVIEW_BRANCH,
    api_items,
    api_lines,
    bearer,
    numbered,
    runner_for,
    texts,
    wait_api,
)
from tests.fixtures.logstack import Runner
from tests.fixtures.web import TwoTeams, only_environment_id

pytestmark = pytest.mark.docker

Emit = Callable[..., Runner]


def test_runner_lines_page_newest_first_with_no_gap_or_repeat(
    client: TestClient, two_teams: TwoTeams, alice_runner: Runner, emit: Emit
) -> None:
    alice = two_teams.alice
    out, err = numbered("out", 200), numbered("err", 100)
    emit(alice_runner, stdout=out, stderr=err)
    wait_api(client, alice.token, alice.project_slug, 300)

    items = api_items(client, alice.token, alice.project_slug, limit=37)
    lines = [item["line"] for item in items]
    assert len(lines) == len(set(lines)) == 300
    assert sorted(lines) == sorted(texts(out + err))
    stamps = [int(item["ts"]) for item in items]
    assert stamps == sorted(stamps, reverse=True), "newest first"
    assert len({item["id"] for item in items}) == 300
    # Per stream the runner's order holds (Docker orders each stream, not both).
    assert [line for line in lines if line.startswith("out")] == texts(out)[::-1]
    for item in items:
        assert item["deployment_id"] == alice_runner.deployment_id
        assert item["environment_id"] == alice_runner.environment_id
        assert item["branch"] == alice_runner.branch
        assert item["stream"] == ("stderr" if item["line"].startswith("err") else "stdout")
        assert item["time"].endswith("Z")
    # The first page is the newest lines.
    first = client.get(
        f"/api/v1/projects/{alice.project_slug}/logs",
        params={"limit": 10},
        headers=bearer(alice.token),
    ).json()
    assert [item["id"] for item in first["items"]] == [item["id"] for item in items[:10]]
    assert first["next"] and "cursor=" in first["next"]


SPECIAL = [b'needle a"b\n', b"needle a\\b\n", b"needle a.b\n", b"needle a(b\n", b"needle axb\n"]


def test_every_filter_narrows_to_the_right_lines(
    client: TestClient,
    two_teams: TwoTeams,
    alice_runner: Runner,
    preview_runner: Runner,
    emit: Emit,
) -> None:
    alice = two_teams.alice
    emit(alice_runner, stdout=[b"INFO prod up\n", *SPECIAL], stderr=[b"ERROR prod down\n"])
    emit(preview_runner, stdout=[b"WARN preview careful\n"], stderr=[b"preview err plain\n"])
    wait_api(client, alice.token, alice.project_slug, 9)

    def lines(**params: object) -> list[str]:
        return sorted(api_lines(client, alice.token, alice.project_slug, **params))

    prod = sorted(["INFO prod up", "ERROR prod down", *texts(SPECIAL)])
    preview = ["WARN preview careful", "preview err plain"]
    assert lines(deployment=alice_runner.deployment_id) == prod
    assert lines(deployment=preview_runner.deployment_id) == preview
    assert lines(environment=alice_runner.environment_id) == prod
    assert lines(environment=preview_runner.environment_id) == preview
    assert lines(branch=PREVIEW_BRANCH) == preview
    assert lines(branch="main") == prod
    assert lines(stream="stderr") == ["ERROR prod down", "preview err plain"]
    assert lines(level="error") == ["ERROR prod down"]
    assert lines(level="warning") == ["WARN preview careful"]
    assert lines(level="info") == ["INFO prod up"]
    # A phrase (the query language's "…", escaped as JSON is): quotes, backslash, dot and
    # parenthesis match only themselves.
    for needle in ['a"b', "a\\b", "a.b", "a(b"]:
        assert lines(q=json.dumps(needle)) == [f"needle {needle}"], needle
    assert lines(q="PLAIN") == ["preview err plain"]  # any case
    assert lines(q="no such text") == []
    # Regex (RE2).
    assert lines(q=r"^needle a[.(]b$", regex="true") == ["needle a(b", "needle a.b"]
    assert lines(q=r"^needle a.b$", regex="true") == sorted(texts(SPECIAL))
    assert lines(q=r"(?i)^info\b", regex="true") == ["INFO prod up"]
    # Filters combine.
    assert lines(stream="stdout", q="needle a", deployment=alice_runner.deployment_id) == sorted(
        texts(SPECIAL)
    )


def test_bad_requests_are_422_and_other_projects_404_and_invisible(
    client: TestClient,
    two_teams: TwoTeams,
    alice_runner: Runner,
    sessions: sessionmaker[Session],
    emit: Emit,
) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    bob_runner = runner_for(sessions, bob.deployment_id)
    emit(bob_runner, stdout=[b"bob's secret\n", b'"} or {project_id=~".+\n', b"main secret\n"])
    emit(alice_runner, stdout=[b"alice's line\n"])
    wait_api(client, bob.token, bob.project_slug, 3)
    wait_api(client, alice.token, alice.project_slug, 1)
    own = f"/api/v1/projects/{alice.project_slug}/logs"
    headers = bearer(alice.token)

    for suffix in ("", "/tail"):
        for params, message in [
            ({"q": "(unclosed", "regex": "true"}, "invalid regular expression"),
            ({"cursor": "not-a-cursor"}, "malformed log cursor"),
            ({"cursor": "12:zz"}, "malformed log cursor"),
            ({"stream": "stdin"}, "stream: must be one of"),
        ]:
            response = client.get(f"{own}{suffix}", params=params, headers=headers)
            assert response.status_code == 422, (suffix, params, response.text)
            assert message in response.json()["detail"], (suffix, params)
    for limit in (0, 5001, 10**9):
        response = client.get(own, params={"limit": limit}, headers=headers)
        assert response.status_code == 422, limit
        assert "limit" in response.text

    bob_env = only_environment_id(sessions, bob.project_id)
    for suffix in ("", "/tail"):
        for path, params in [
            (f"/api/v1/projects/{bob.project_id}/logs{suffix}", {}),
            (f"{own}{suffix}", {"deployment": bob.deployment_id}),
            (f"{own}{suffix}", {"environment": bob_env}),
        ]:
            response = client.get(path, params=params, headers=headers)
            assert response.status_code == 404, (path, params)

    # Same slug ("shop"), same branch: however asked, Alice never gets Bob's lines.
    for params in [
        {},
        {"branch": "main"},
        {"q": "secret"},
        {"q": ".*", "regex": "true"},
        {"q": '"} or {project_id=~".+'},
        {"branch": '"} or {project_id=~".+'},
        {"environment": alice_runner.environment_id, "q": "secret"},
    ]:
        lines = api_lines(client, alice.token, "shop", **params)
        assert not any("secret" in line or "project_id" in line for line in lines), params
        assert lines in ([], ["alice's line"]), params


def _ndjson(response: httpx.Response) -> Iterator[tuple[int, dict[str, Any]]]:
    """(arrival time in Unix ns, item) for each NDJSON line of a tail."""
    for raw in response.iter_lines():
        if raw.strip():
            item = json.loads(raw)
            assert "error" not in item, item
            yield time.time_ns(), item


def test_tail_delivers_new_lines_and_resumes_without_repeats(
    live_url: str, two_teams: TwoTeams, alice_runner: Runner, emit: Emit
) -> None:
    alice = two_teams.alice
    path = f"/api/v1/projects/{alice.project_slug}/logs/tail"
    # A read timeout is the deadline of every wait below: the tail never sends pings.
    timeout = httpx.Timeout(10.0, read=15.0)
    batch = numbered("tail", 20)
    samples: list[tuple[float, float]] = []  # (line time → client, runner exit → client)
    received: list[dict[str, Any]] = []
    with httpx.Client(base_url=live_url, headers=bearer(alice.token), timeout=timeout) as http:
        with http.stream("GET", path) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("application/x-ndjson")
            lines = _ndjson(response)
            emit(alice_runner, stdout=batch)
            for _ in batch:
                received.append(next(lines)[1])
            assert [item["line"] for item in received] == texts(batch)
            # Latency: one line per runner, each waited for before the next.
            for i in range(5):
                emit(alice_runner, stdout=[f"latency {i}\n".encode()])
                exited = time.time_ns()
                arrived, item = next(lines)
                assert item["line"] == f"latency {i}"
                received.append(item)
                samples.append(((arrived - int(item["ts"])) / 1e9, (arrived - exited) / 1e9))

        # Resume after the 10th line: the rest come, in order. A resumed tail may first
        # deliver again lines that had come ahead of its cursor: a client drops them by id.
        shown = {item["id"] for item in received[:10]}
        with http.stream("GET", path, params={"cursor": received[9]["cursor"]}) as response:
            assert response.status_code == 200
            lines = _ndjson(response)
            resumed = []
            while len(resumed) < len(received[10:]):
                item = next(lines)[1]
                if item["id"] not in shown:
                    resumed.append(item)
    assert [item["id"] for item in resumed] == [item["id"] for item in received[10:]]

    line_to_client = [s[0] for s in samples]
    exit_to_client = [s[1] for s in samples]
    print(
        "\nAPI tail latency over 5 lines (s): "
        f"line time → client {', '.join(f'{s:.2f}' for s in line_to_client)} "
        f"(median {statistics.median(line_to_client):.2f}); "
        f"runner exit → client median {statistics.median(exit_to_client):.2f}"
    )
    assert max(line_to_client) < 10
