"""The health check's pure parts (status ranges, the restart bound, a change of the check)
and one check against a real HTTP server on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import ValidationError

from devpush.core.config import Settings
from devpush.core.errors import InvalidInput
from devpush.models import Project
from devpush.services.health import (
    BODY_HEAD_BYTES,
    Answer,
    HealthCheck,
    HealthCheckUpdate,
    StatusRangeError,
    apply_update,
    ask,
    check_path,
    may_restart,
    parse_status_ranges,
    recent_restarts,
)
from devpush_dev.ports import free_port


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        ("200", ((200, 200),)),
        ("200-399", ((200, 399),)),
        (" 200 - 299 , 404 ", ((200, 299), (404, 404))),
        ("100-599", ((100, 599),)),
    ],
)
def test_status_ranges_are_read(text: str, ranges: tuple[tuple[int, int], ...]) -> None:
    assert parse_status_ranges(text) == ranges


@pytest.mark.parametrize("text", ["", "2xx", "200-", "399-200", "99", "600", "200-600", "200;300"])
def test_bad_status_ranges_are_refused_with_the_rule(text: str) -> None:
    with pytest.raises(StatusRangeError, match="expected status") as caught:
        parse_status_ranges(text)
    assert isinstance(caught.value, InvalidInput)  # a 422 wherever it surfaces


def test_a_check_passes_on_a_status_in_its_ranges_only() -> None:
    check = HealthCheck(path="/healthz", expect_status="200-299,304")
    assert check.passes(Answer(status=200))
    assert check.passes(Answer(status=304))
    assert not check.passes(Answer(status=301))
    assert not check.passes(Answer(status=503, body_head="not yet"))
    assert not check.passes(Answer(error="connection refused"))
    assert check.what == "GET /healthz (expects 200-299,304)"
    assert not check.is_default


def test_the_default_check_takes_any_answer_to_the_root() -> None:
    check = HealthCheck()
    assert check.is_default
    assert all(check.passes(Answer(status=code)) for code in (100, 200, 404, 500, 599))
    assert not check.passes(Answer(error="connection refused"))


def test_an_answer_says_its_status_and_first_bytes_or_its_error() -> None:
    assert Answer(status=503, body_head="not\nready  yet").describe() == "status 503: not ready yet"
    assert Answer(status=204).describe() == "status 204"
    assert Answer(error="connection refused").describe() == "no answer: connection refused"


@pytest.mark.parametrize("path", ["healthz", "/a b", "/x#frag", "/\x00"])
def test_a_path_must_be_absolute_and_plain(path: str) -> None:
    with pytest.raises(InvalidInput, match="start it with /"):
        check_path(path)
    assert check_path("/healthz?full=1") == "/healthz?full=1"


def _times(now: datetime, *seconds_ago: int) -> list[str]:
    return [(now - timedelta(seconds=s)).isoformat() for s in seconds_ago]


def test_restarts_are_bounded_in_a_window() -> None:
    now = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
    window = timedelta(minutes=10)
    assert may_restart([], now=now, window=window, most=3)
    assert may_restart(_times(now, 30, 60), now=now, window=window, most=3)
    assert not may_restart(_times(now, 30, 60, 90), now=now, window=window, most=3)
    # Restarts older than the window no longer count.
    old_and_new = _times(now, 30, 700, 900)
    assert recent_restarts(old_and_new, now=now, window=window) == _times(now, 30)
    assert may_restart(old_and_new, now=now, window=window, most=2)
    # No restart at all when the bound is 0.
    assert not may_restart([], now=now, window=window, most=0)


def test_a_change_sets_what_it_gives_and_null_resets_to_the_default() -> None:
    project = Project(health_path="/", health_expect_status="100-599", health_failure_threshold=3)
    apply_update(
        project,
        HealthCheckUpdate.model_validate(
            {"path": "/healthz", "expect_status": "200 - 399", "interval_seconds": 5}
        ),
    )
    assert project.health_check == {
        "path": "/healthz",
        "expect_status": "200-399",
        "grace_seconds": None,
        "interval_seconds": 5,
        "failure_threshold": 3,
    }
    apply_update(project, HealthCheckUpdate.model_validate({"interval_seconds": None}))
    assert project.health_interval_seconds is None  # checks off again
    assert project.health_path == "/healthz"  # left out: kept


@pytest.mark.parametrize(
    "body",
    [
        {"path": "healthz"},
        {"expect_status": "2xx"},
        {"grace_seconds": 0},
        {"interval_seconds": 0},
        {"failure_threshold": 0},
        {"timeout": 3},
    ],
)
def test_a_bad_change_is_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        HealthCheckUpdate.model_validate(body)


class _App(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/healthz":
            body = b"x" * (BODY_HEAD_BYTES * 5)
            self.send_response(503)
        else:
            body = b"ok"
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def app_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _App)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_ask_reads_the_status_and_the_first_bytes(app_url: str) -> None:
    settings = Settings()
    assert ask(settings, app_url, "/") == Answer(status=200, body_head="ok")
    failing = ask(settings, app_url, "/healthz")
    assert failing.status == 503
    assert failing.body_head == "x" * BODY_HEAD_BYTES


def test_ask_says_why_nothing_answered() -> None:
    answer = ask(Settings(), f"http://127.0.0.1:{free_port()}/", "/healthz")
    assert answer.status is None
    assert answer.error is not None and "connection refused" in answer.error
