"""The API's download route on the real store: its scope, filters and formats, a store's
repeated rows once, and another team's token refused.

The lines are sent to the store's own push API (as the collector sends them), so the test
chooses their times, streams and deployments, and can store one batch twice (what a
collector that re-sends a batch leaves behind).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import replace
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.e2e.logs.support import ARRIVAL_TIMEOUT, StorePusher, runner_labels, until
from tests.fixtures.web import TwoTeams, bearer

pytestmark = pytest.mark.docker

SECOND = 1_000_000_000


def test_api_download_keeps_scope_filters_and_formats(
    client: TestClient,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    alice_pushes: StorePusher,
) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    labels = alice_pushes.labels
    base_ns = (time.time_ns() // SECOND - 120) * SECOND
    out = [(base_ns + i * SECOND // 10, f'out {i:03d} "quoted", \\ <b> ünï') for i in range(40)]
    err = [(base_ns + i * SECOND // 10 + 7, f"err {i:03d}") for i in range(10)]
    alice_pushes(out)
    alice_pushes(out[:5])  # a batch stored twice
    alice_pushes(err, stream="stderr")
    alice_pushes([(base_ns + 5 * SECOND, "")])  # a blank line
    # Same project, another deployment; and Bob's project at the very same times.
    other_dep = replace(alice_pushes, labels={**labels, "deployment_id": "other-dep"})
    other_dep([(base_ns, "other dep")])
    bob_pushes = replace(alice_pushes, labels=runner_labels(sessions, bob.deployment_id))
    bob_pushes([(ns, f"bob {ns}") for ns, _ in out])

    url = f"/api/v1/projects/{alice.project_slug}/logs/download"
    window = {"since": str(base_ns - SECOND), "until": str(base_ns + 10 * SECOND)}
    mine = {**window, "deployment": alice.deployment_id}

    def rows(params: dict[str, str], fmt: str = "ndjson") -> list[str]:
        got = client.get(url, params={**params, "format": fmt}, headers=bearer(alice.token))
        assert got.status_code == 200, got.text
        return got.text.splitlines()

    expected = len(out) + len(err) + 1
    until(lambda: len(rows(mine)) >= expected, timeout=ARRIVAL_TIMEOUT, what="the pushed lines")

    items = [json.loads(row) for row in rows(mine)]
    assert all("error" not in item for item in items), items[-1]
    lines = [item.get("line", "") for item in items]
    assert Counter(lines) == Counter(line for _, line in [*out, *err]) + Counter({"": 1})
    stamps = [int(item["ts"]) for item in items]
    assert stamps == sorted(stamps), "oldest first"
    first = items[0]
    assert first["time"].endswith(f".{base_ns % SECOND:09d}Z")
    assert {item["deployment_id"] for item in items} == {alice.deployment_id}
    assert {item["branch"] for item in items} == {labels["branch"]}
    assert {item.get("stream") for item in items} == {"stdout", "stderr"}

    # The project's other deployment is in the project's download, Bob's lines never.
    everything = [json.loads(row).get("line", "") for row in rows(window)]
    assert "other dep" in everything
    assert not any(line.startswith("bob ") for line in everything)

    # Filters: a stream, a search, a level (the paged path), and txt.
    assert Counter(json.loads(row)["line"] for row in rows({**mine, "stream": "stderr"})) == (
        Counter(line for _, line in err)
    )
    found = [json.loads(row)["line"] for row in rows({**mine, "q": "OUT 00"})]
    assert found == [line for _, line in out[:10]]
    txt = rows(mine, "txt")
    assert len(txt) == expected
    assert txt[0].split(" ", 2)[1:] == ["stdout", out[0][1]]
    assert any(row.endswith(" - ") or row.endswith(" stdout ") for row in txt), "the blank line"


def test_api_download_refuses_another_team_and_bad_input(
    client: TestClient, two_teams: TwoTeams, running_log_stack: Any
) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    url = f"/api/v1/projects/{alice.project_id}/logs/download"
    assert client.get(url, headers=bearer(bob.token)).status_code == 404
    assert client.get(url).status_code == 401
    bad = client.get(url, params={"format": "csv"}, headers=bearer(alice.token))
    assert bad.status_code == 422
    bad = client.get(url, params={"q": "(", "regex": "true"}, headers=bearer(alice.token))
    assert bad.status_code == 422
    assert "invalid regular expression" in bad.json()["detail"]


def test_api_download_streams_in_pieces(
    two_teams: TwoTeams, alice_pushes: StorePusher, live_url: str
) -> None:
    """A long range comes in many pieces as it is read, never as one body held whole."""
    alice = two_teams.alice
    base_ns = (time.time_ns() // SECOND - 300) * SECOND
    lines = [(base_ns + i * 1000, f"line {i:06d} " + "x" * 100) for i in range(20_000)]
    for start in range(0, len(lines), 5000):
        alice_pushes(lines[start : start + 5000])
    url = f"{live_url}/api/v1/projects/{alice.project_slug}/logs/download"
    params = {"since": str(base_ns), "until": str(base_ns + SECOND), "format": "txt"}
    with httpx.Client(headers=bearer(alice.token), timeout=60) as http:

        def count() -> int:
            return http.get(url, params=params).text.count("\n")

        until(lambda: count() >= len(lines), timeout=ARRIVAL_TIMEOUT, what="20,000 lines")
        with http.stream("GET", url, params=params) as response:
            assert response.status_code == 200
            pieces = [len(piece) for piece in response.iter_raw()]
    assert len(pieces) > 10, pieces
    assert max(pieces) < sum(pieces) / 5, "no piece holds a large part of the file"
