"""The deployment log panel, the project Logs page and downloads (HTML via TestClient)
on the real store, fed by a real runner of a real deployment.

Lines are escaped (a ``<script>`` line stays text), ANSI colours become spans, the
histogram counts every line, "load older" continues with no gap, and both download
formats give every line once (across several store requests: see ``settings``).
"""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from fastapi.testclient import TestClient

from devpush.core.config import Settings
from tests.e2e.logs.support import numbered, shown_lines, texts, wait_api
from tests.fixtures.logstack import Runner
from tests.fixtures.web import TwoTeams, log_in

pytestmark = pytest.mark.docker

HOSTILE = [
    b"hello from the runner\n",
    b"<script>alert(1)</script>\n",
    b"\x1b[31mred\x1b[0m and plain\n",
]
STDERR = [b"ERROR failed on stderr\n"]
FILLER = numbered("filler", 246)
ALL = texts(HOSTILE + STDERR + FILLER)  # 250 lines: more than a view's page (200)
#: The rows' visible text: escape sequences are not shown.
VISIBLE = [line.replace("\x1b[31m", "").replace("\x1b[0m", "") for line in ALL]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Small store answers: a page and a download take several requests each.
    return settings.model_copy(update={"log_store_max_entries_per_query": 60})


@pytest.fixture
def emitted(client: TestClient, two_teams: TwoTeams, alice_runner: Runner, emit) -> Runner:  # type: ignore[no-untyped-def]
    alice = two_teams.alice
    emit(alice_runner, stdout=HOSTILE + FILLER, stderr=STDERR)
    wait_api(client, alice.token, alice.project_slug, len(ALL))
    log_in(client, alice.email)
    return alice_runner


def test_panel_and_page_show_escaped_lines_and_load_older(
    client: TestClient, two_teams: TwoTeams, emitted: Runner
) -> None:
    base = f"/projects/{two_teams.alice.project_slug}/logs"
    panel = client.get(f"{base}/panel", params={"deployment": emitted.deployment_id})
    assert panel.status_code == 200, panel.text[:500]
    shown = shown_lines(panel.text)
    assert len(shown) == 200  # the newest page, oldest first
    fillers = [line for line in shown if line.startswith("filler")]
    assert fillers == sorted(fillers) and fillers[-1] == "filler 00245"
    assert "<script>alert" not in panel.text
    assert 'data-stream-url="' in panel.text  # the deployment is not finished: live

    older = re.search(r'hx-get="([^"]+)"', panel.text)
    assert older, "no load-older control"
    more = client.get(older.group(1).replace("&amp;", "&"))
    assert more.status_code == 200
    rest = shown_lines(more.text)
    assert "hx-get" not in more.text  # nothing older
    assert sorted(rest + shown) == sorted(VISIBLE)
    both = panel.text + more.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in both
    assert "<script>alert" not in both
    assert '<span class="ansi-fg-1">red</span> and plain' in both
    assert 'class="log-line stream-stderr level-error"' in both

    page = client.get(base)
    assert page.status_code == 200
    assert sorted(shown_lines(page.text)) == sorted(shown)
    assert "<script>alert" not in page.text
    # The histogram: its bars' titles count every line of the range.
    bar = r'class="log-bar" href="[^"]*" title="(\d+) lines \((\d+) stderr\)'
    titles = re.findall(bar, page.text)
    assert len(titles) > 1
    assert sum(int(total) for total, _ in titles) == len(ALL)
    assert sum(int(err) for _, err in titles) == len(STDERR)
    # Wherever the range ends, the newest lines are in its last bar (10 s bars here: at
    # least one of these ends puts a 10 s store bucket astride the range's end).
    newest = max(int(m) for m in re.findall(r'data-ts="(\d+)"', page.text))
    for after_s in (0.5, 2.5, 4.5, 6.5, 8.5):
        until = newest + int(after_s * 1e9)
        ranged = client.get(base, params={"since": str(until - 600 * 10**9), "until": str(until)})
        counts = [int(total) for total, _ in re.findall(bar, ranged.text)]
        assert len(counts) == 60 and sum(counts) == len(ALL) and counts[-1] > 0, after_s
    heights = [float(h) for h in re.findall(r'bar-stdout" style="height: ([0-9.]+)%', page.text)]
    assert max(heights) > 50  # the fullest bar (stdout and stderr together) is 100%

    searched = client.get(base, params={"q": "<script>"})
    assert shown_lines(searched.text) == ["<script>alert(1)</script>"]
    regex = client.get(base, params={"q": r"^filler 0010[0-4]$", "regex": "1"})
    assert shown_lines(regex.text) == [f"filler 0010{i}" for i in range(5)]
    bad = client.get(base, params={"q": "(", "regex": "1"})
    assert bad.status_code == 422
    assert 'id="error-q"' in bad.text


def test_downloads_give_every_line_once(
    client: TestClient, two_teams: TwoTeams, emitted: Runner
) -> None:
    base = f"/projects/{two_teams.alice.project_slug}/logs"
    panel = client.get(f"{base}/panel", params={"deployment": emitted.deployment_id})
    links = dict(re.findall(r'<a href="([^"]+/download\?[^"]+)" download>(\w+)</a>', panel.text))
    assert sorted(links.values()) == ["NDJSON", "text"]
    by_name = {name: url.replace("&amp;", "&") for url, name in links.items()}

    text = client.get(by_name["text"])
    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/plain")
    assert "attachment" in text.headers["content-disposition"]
    rows = text.text.splitlines()
    assert not any(row.startswith("#") for row in rows), "download incomplete"
    assert Counter(row.split(" ", 2)[2] for row in rows) == Counter(ALL)
    assert "stderr ERROR failed on stderr" in text.text

    ndjson = client.get(by_name["NDJSON"])
    assert ndjson.headers["content-type"].startswith("application/x-ndjson")
    items = [json.loads(row) for row in ndjson.text.splitlines()]
    assert Counter(item["line"] for item in items) == Counter(ALL)
    stamps = [int(item["ts"]) for item in items]
    assert stamps == sorted(stamps), "oldest first"
    assert {item["deployment_id"] for item in items} == {emitted.deployment_id}
