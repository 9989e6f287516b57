"""What each kind of channel says about a deployment's end (pure message building)."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from devpush.models import DeployStep, Failure
from devpush.services.notifications import messages, senders
from devpush.services.notifications.channels import address_problem, url_problem

AT = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
FAILED = messages.DeployEvent(
    event=messages.FAILED,
    project_id="p1",
    project_name="Shop",
    environment="production",
    deployment_id="d1",
    url=None,
    branch="main",
    commit="0123456789abcdef0123456789abcdef01234567",
    status="failed",
    trigger="webhook",
    created_at=AT,
    finished_at=AT,
    failure=Failure(step=DeployStep.BUILD, exit_code=2, lines=["ok", "<x> & `y` ```z```"]),
    error="Build exited with code 2",
)
SUCCEEDED = replace(
    FAILED,
    event=messages.SUCCEEDED,
    status="running",
    url="https://d1-shop.example.org/",
    failure=None,
    error=None,
)


def test_the_webhook_body_carries_the_failure() -> None:
    body = json.loads(messages.webhook_payload(FAILED))
    assert body == {
        "event": "deployment.failed",
        "project": {"id": "p1", "name": "Shop"},
        "environment": "production",
        "deployment": {
            "id": "d1",
            "url": None,
            "branch": "main",
            "commit": FAILED.commit,
            "status": "failed",
            "trigger": "webhook",
            "created_at": "2026-12-05T12:00:00+00:00",
            "finished_at": "2026-12-05T12:00:00+00:00",
        },
        "failure": {"step": "build", "exit_code": 2, "lines": ["ok", "<x> & `y` ```z```"]},
        "error": "Build exited with code 2",
    }
    success = json.loads(messages.webhook_payload(SUCCEEDED))
    assert "failure" not in success and "error" not in success
    assert success["deployment"]["url"] == "https://d1-shop.example.org/"


def test_the_signature_is_the_hmac_of_the_exact_body() -> None:
    body = messages.webhook_payload(FAILED)
    expected = hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert senders.signature("k", body) == f"sha256={expected}"


def test_slack_escapes_and_fences_the_lines() -> None:
    message = messages.slack_message(FAILED)
    assert message["text"] == ":x: Shop production: deploy failed at Build (exit 2)"
    code = message["blocks"][-1]["text"]["text"]
    assert code == "```\nok\n&lt;x&gt; &amp; `y` `\u200b``z`\u200b``\n```"


def test_slack_keeps_the_newest_lines_within_its_bound() -> None:
    lines = [f"line {i} " + "x" * 90 for i in range(200)]
    event = replace(FAILED, failure=Failure(step=DeployStep.START, exit_code=1, lines=lines))
    code = messages.slack_message(event)["blocks"][-1]["text"]["text"]
    assert len(code) <= messages.SLACK_LINES_MAX_CHARS + 8
    assert code.endswith(lines[-1] + "\n```")
    assert lines[0] not in code


def test_the_email_subject_and_text() -> None:
    mail = messages.email_message(FAILED, sender="devpush@example.org", to="ops@example.org")
    assert mail["Subject"] == "[devpush] Shop production: deploy failed at Build (exit 2)"
    text = messages.email_text(FAILED)
    assert "Step: Build\nExit code: 2\n" in text
    assert text.endswith("ok\n<x> & `y` ```z```\n")
    html_part = mail.get_body(preferencelist=("html",))
    assert html_part is not None
    assert "&lt;x&gt; &amp;" in html_part.get_content()
    ok = messages.email_message(SUCCEEDED, sender="devpush@example.org", to="ops@example.org")
    assert ok["Subject"] == "[devpush] Shop production: deployed main (0123456)"


def test_a_subject_never_spans_lines() -> None:
    event = replace(FAILED, project_name="Shop\r\nBcc: someone@example.org")
    mail = messages.email_message(event, sender="devpush@example.org", to="ops@example.org")
    assert "\n" not in mail["Subject"] and mail["Bcc"] is None


@pytest.mark.parametrize(
    ("target", "ok"),
    [
        ("https://hooks.example.org/x", True),
        ("http://10.0.0.5:8080/hook", True),
        ("ftp://example.org", False),
        ("https://", False),
        ("https://user:pw@example.org", False),
        ("https://example.org/a b", False),
    ],
)
def test_urls(target: str, ok: bool) -> None:
    assert (url_problem(target) is None) is ok


@pytest.mark.parametrize(
    ("target", "ok"),
    [
        ("ops@example.org", True),
        ("root@mailhost", True),
        ("ops@", False),
        ("ops@example.org\n", False),
        ("ops example.org", False),
        ("a@b.org, c@d.org", False),
        ("ops@example.org\r\nBcc: x@y.org", False),
    ],
)
def test_addresses(target: str, ok: bool) -> None:
    assert (address_problem(target) is None) is ok


def test_errors_never_hold_a_secret() -> None:
    assert senders.redact("auth failed for hunter2", ["hunter2", None]) == (
        "auth failed for [secret]"
    )
