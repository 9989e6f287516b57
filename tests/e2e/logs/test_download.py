"""The full download on the real store: lines that share one nanosecond, spread over
several pages and windows, each come out exactly once, oldest first.

Runners rarely write two lines in one nanosecond, so these lines are sent to the store's
own push API (as the collector sends them) with the timestamps the test needs.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from tests.e2e.logs.support import ARRIVAL_TIMEOUT, push, runner_labels, until
from tests.fixtures.web import TwoTeams, log_in

pytestmark = pytest.mark.docker

SECOND = 1_000_000_000
PER_QUERY = 40  # lines per store answer (so per download page)
SHARED = 30  # lines at one nanosecond: fewer than PER_QUERY, more than the rest of a page
NDJSON_FIELDS = {"ts", "time", "line", "stream", "deployment_id", "environment_id", "branch"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Small answers and windows: the download takes many pages and several windows.
    return settings.model_copy(
        update={"log_store_max_entries_per_query": PER_QUERY, "log_download_window_lines": 50}
    )


def test_download_gives_lines_sharing_a_nanosecond_once_across_pages(
    client: TestClient,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    running_log_stack: Any,
) -> None:
    alice = two_teams.alice
    labels = runner_labels(sessions, alice.deployment_id)
    base_ns = (time.time_ns() // SECOND - 120) * SECOND
    shared_ns = base_ns + 30 * SECOND + 123_456_789
    # 25 lines before (one every 100 ms), SHARED at one ns, 25 after: the shared lines
    # start in the first page (40 lines) and end in the second; the lines span several
    # seconds, so several windows of 50 lines' worth of buckets.
    before = [(base_ns + i * SECOND // 10, f"before {i:03d}") for i in range(25)]
    shared = [(shared_ns, f"same ns {i:03d}{' err' if i % 3 == 0 else ''}") for i in range(SHARED)]
    after = [(shared_ns + (i + 1) * SECOND // 10, f"after {i:03d}") for i in range(25)]
    values = before + shared + after
    push(running_log_stack, labels, [v for v in values if not v[1].endswith(" err")])
    push(running_log_stack, labels, [v for v in values if v[1].endswith(" err")], stream="stderr")
    # Another deployment's lines at the very same nanosecond are not in the download.
    push(running_log_stack, {**labels, "deployment_id": "other-dep"}, [(shared_ns, "other")])

    log_in(client, alice.email)
    params = {
        "deployment": alice.deployment_id,
        "since": str(base_ns - SECOND),
        "until": str(shared_ns + 10 * SECOND),
    }
    url = f"/projects/{alice.project_slug}/logs/download"

    def complete() -> bool:
        got = client.get(url, params={**params, "format": "txt"})
        return got.status_code == 200 and got.text.count("\n") >= len(values)

    until(complete, timeout=ARRIVAL_TIMEOUT, what="every pushed line in the store")

    text = client.get(url, params={**params, "format": "txt"})
    assert text.status_code == 200
    rows = text.text.splitlines()
    assert not any(row.startswith("#") for row in rows), rows[-1]
    assert Counter(row.split(" ", 2)[2] for row in rows) == Counter(line for _, line in values)

    ndjson = client.get(url, params={**params, "format": "ndjson"})
    items = [json.loads(row) for row in ndjson.text.splitlines()]
    assert all("error" not in item for item in items), items[-1]
    assert Counter(item["line"] for item in items) == Counter(line for _, line in values)
    assert all(set(item) <= NDJSON_FIELDS for item in items), items[0]
    stamps = [int(item["ts"]) for item in items]
    assert stamps == sorted(stamps), "oldest first"
    assert [item["line"] for item in items[:25]] == [line for _, line in before]
    assert [item["line"] for item in items[-25:]] == [line for _, line in after]
    same = [item for item in items if int(item["ts"]) == shared_ns]
    assert len(same) == SHARED
    assert {item["time"] for item in same} == {items[25]["time"]}
    assert items[25]["time"].endswith(".123456789Z")
    assert {item["stream"] for item in same} == {"stdout", "stderr"}
