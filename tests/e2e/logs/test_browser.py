"""The log views in Debian's Chromium on the real store, fed by a real runner.

The deployment page's panel shows the runner's lines, hostile ones as plain text (no
element, no link, no dialog); a search shows only matching lines; live mode shows a
line emitted afterwards (its latency is printed); the download link gives every line.
A screenshot of the Logs page goes to /tmp/logs-page.png.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.e2e.logs.support import AlicePrints, StorePusher, log_view_page, texts
from tests.fixtures.web import TwoTeams

pytestmark = [pytest.mark.docker, pytest.mark.browser]

SCREENSHOT = Path("/tmp/logs-page.png")
OSC8_LINK = b"see \x1b]8;;https://evil.example\x1b\\docs\x1b]8;;\x1b\\ here\n"
STDOUT = [
    b"hello from the runner\n",
    b"<img src=x onerror=alert(1)>\n",
    b"\x1b[32mgreen\x1b[0m and plain\n",
    OSC8_LINK,
    b"<script>alert(2)</script>\n",
]
STDERR = [b"ERROR boom on stderr\n"]


def test_log_views_in_the_browser(
    browser: Browser, live_url: str, two_teams: TwoTeams, alice_prints: AlicePrints
) -> None:
    alice = two_teams.alice
    alice_prints(stdout=STDOUT, stderr=STDERR)

    with log_view_page(browser, live_url, alice.email) as page:
        dialogs: list[str] = []

        def on_dialog(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)

        # The deployment page: its panel (loaded by htmx) shows the runner's lines as text.
        page.goto(f"{live_url}/projects/{alice.project_slug}/deployments/{alice.deployment_id}")
        panel = page.locator("#deployment-logs")
        lines = panel.locator(".log-lines")
        expect(lines).to_contain_text("hello from the runner")
        expect(panel.locator(".log-live-status")).to_have_text("Live")  # not finished: live
        expect(lines).to_contain_text("<img src=x onerror=alert(1)>")
        expect(lines).to_contain_text("<script>alert(2)</script>")
        expect(lines).to_contain_text("see docs here")
        expect(lines.locator("span.ansi-fg-2")).to_have_text("green")
        expect(lines.locator(".stream-stderr")).to_contain_text("ERROR boom on stderr")
        assert lines.locator("img, script").count() == 0
        assert page.locator('a[href*="evil.example"]').count() == 0

        # The Logs page with a search: only the matching line.
        base = f"{live_url}/projects/{alice.project_slug}/logs"
        page.goto(f"{base}?q=hello")
        rows = page.locator(".log-lines .log-line")
        expect(rows).to_have_count(1)
        expect(rows).to_contain_text("hello from the runner")

        # Live: a line emitted after the page opened appears; one not matching does not.
        page.goto(f"{base}?q=after+live")
        page.check("#f-live")
        page.click("button:has-text('Apply')")
        expect(page).to_have_url(re.compile(r"[?&]q=after\+live&.*live=1"))
        expect(page.locator(".log-live-status")).to_have_text("Live")
        alice_prints(stdout=[b"seen after live\n", b"unrelated line\n"], wait=False)
        exited = time.monotonic()
        expect(rows).to_contain_text("seen after live", timeout=15_000)
        latency = time.monotonic() - exited
        print(f"\nbrowser live tail: runner exit → row visible {latency:.2f}s")
        expect(rows).to_have_count(1)

        # The whole range, live: the screenshot, then the download link.
        page.goto(f"{base}?live=1")
        expect(rows).to_have_count(len(STDOUT) + len(STDERR) + 2)
        expect(page.locator(".log-live-status")).to_have_text("Live")
        expect(page.locator(".log-volume .log-bar").first).to_be_attached()
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        with page.expect_download() as info:
            page.click(".log-links a:has-text('text')")
        download = Path(info.value.path()).read_text()
        got = [row.split(" ", 2)[2] for row in download.splitlines()]
        expected = texts([*STDOUT, *STDERR, b"seen after live\n", b"unrelated line\n"])
        assert sorted(got) == sorted(expected)
        assert dialogs == []


@contextmanager
def live_logs(browser: Browser, url: str, email: str, slug: str, search: str) -> Iterator[Page]:
    """The project's Logs page, live and searching ``search``, once its tail is open;
    closed afterwards, pass or fail."""
    with log_view_page(browser, url, email) as page:
        page.goto(f"{url}/projects/{slug}/logs?{urlencode({'q': search, 'live': 1})}")
        expect(page.locator(".log-live-status")).to_have_text("Live")
        yield page


def test_live_view_puts_a_late_line_above_a_newer_one(
    browser: Browser, live_url: str, two_teams: TwoTeams, alice_pushes: StorePusher
) -> None:
    """A line with an older timestamp, delivered by the live tail after a newer one, is
    shown above it (the panel places each row by its time, not at the end)."""
    alice = two_teams.alice
    with live_logs(browser, live_url, alice.email, alice.project_slug, "ordering check") as page:
        rows = page.locator(".log-lines .log-line")

        # Both lines fall after the tail's start (the page's load), the older one by 0.5 s.
        time.sleep(1.5)
        newer_ns = time.time_ns()
        alice_pushes([(newer_ns, "ordering check newer")])
        expect(rows).to_have_count(1, timeout=15_000)
        # Well within the tail's delay, so it is still delivered: after the newer line.
        alice_pushes([(newer_ns - 1_000_000_000, "ordering check older")])
        expect(rows).to_have_count(2, timeout=15_000)
        shown = [text.strip() for text in rows.locator(".log-text").all_inner_texts()]
        assert shown == ["ordering check older", "ordering check newer"]
        stamps = [int(ts or 0) for ts in rows.evaluate_all("rows => rows.map(r => r.dataset.ts)")]
        assert stamps == sorted(stamps)


def test_live_view_shows_each_line_once_across_a_reconnect(
    browser: Browser,
    live_url: str,
    two_teams: TwoTeams,
    alice_pushes: StorePusher,
    running_log_stack: Any,
) -> None:
    """The store goes away and comes back: the browser reconnects with its Last-Event-ID,
    the resumed tail sends again the lines that had come ahead of that cursor, and the
    panel drops them by id: each line is shown once, and a line written meanwhile shows."""
    alice = two_teams.alice
    with live_logs(browser, live_url, alice.email, alice.project_slug, "reconnect check") as page:
        status = page.locator(".log-live-status")
        rows = page.locator(".log-lines .log-line")
        # Elapsed time, not a condition: the lines' stamps must fall after the tail's
        # start, which the page does not expose.
        time.sleep(1.0)
        now = time.time_ns()
        alice_pushes([(now + i, f"reconnect check {i}") for i in range(3)])
        expect(rows).to_have_count(3, timeout=15_000)  # through the fresh window

        running_log_stack.store.stop()
        try:
            expect(status).to_have_class(re.compile(r"\berror\b"), timeout=15_000)
        finally:
            running_log_stack.start_store()
        expect(status).to_have_text("Live", timeout=30_000)
        alice_pushes([(time.time_ns(), "reconnect check after")])
        expect(rows).to_have_count(4, timeout=15_000)
        page.wait_for_timeout(4_000)  # the resumed tail's settled pass reaches the first three
        shown = [text.strip() for text in rows.locator(".log-text").all_inner_texts()]
        assert shown == [*(f"reconnect check {i}" for i in range(3)), "reconnect check after"]
