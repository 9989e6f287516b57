"""The messages a deployment's end sends, per channel kind (pure functions).

A :class:`DeployEvent` is read once from the rows (:func:`event_of`); each kind builds
its own message from it: the signed webhook's JSON body, a Slack incoming-webhook
message, an e-mail. The failure's last lines are the runner's output as it was: each
kind escapes them for its own format and bounds their size.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Final

from devpush.core.config import Settings
from devpush.models import Deployment, DeploymentStatus, Failure, Project, utcnow
from devpush.services.hosts import deployment_url

FAILED: Final = "deployment.failed"
SUCCEEDED: Final = "deployment.succeeded"
#: Sent by "Send a test": the same message as a success, flagged as a test.
TEST: Final = "test"
EVENTS: Final = (FAILED, SUCCEEDED, TEST)

#: The most characters of last lines a Slack block carries (Slack caps a section at 3000).
SLACK_LINES_MAX_CHARS: Final = 2500
#: The most characters of last lines an e-mail carries.
EMAIL_LINES_MAX_CHARS: Final = 20_000


@dataclass(frozen=True, slots=True)
class DeployEvent:
    """What a message says about one deployment, read from its rows."""

    event: str
    project_id: str
    project_name: str
    environment: str
    deployment_id: str
    url: str | None
    branch: str
    commit: str | None
    status: str
    trigger: str
    created_at: datetime
    finished_at: datetime | None
    failure: Failure | None
    error: str | None

    @property
    def failed(self) -> bool:
        return self.event == FAILED

    @property
    def short_commit(self) -> str:
        return (self.commit or "")[:7]


def event_of(deployment: Deployment, *, event: str, settings: Settings) -> DeployEvent:
    """The event's snapshot of ``deployment`` (its URL while it runs)."""
    failed = event == FAILED and deployment.status is DeploymentStatus.FAILED
    return DeployEvent(
        event=event,
        project_id=deployment.project.id,
        project_name=deployment.project.name,
        environment=deployment.environment.name,
        deployment_id=deployment.id,
        url=deployment_url(deployment, settings),
        branch=deployment.branch,
        commit=deployment.commit_sha,
        status=deployment.status.value,
        trigger=deployment.trigger.value,
        created_at=deployment.created_at,
        finished_at=deployment.finished_at or deployment.ready_at,
        failure=deployment.failure if failed else None,
        error=deployment.error if failed else None,
    )


def sample_event(project: Project, *, environment: str) -> DeployEvent:
    """A test message's event for a project that has no deployment yet."""
    now = utcnow()
    return DeployEvent(
        event=TEST,
        project_id=project.id,
        project_name=project.name,
        environment=environment,
        deployment_id="test",
        url=None,
        branch=project.default_branch,
        commit=None,
        status=DeploymentStatus.RUNNING.value,
        trigger="manual",
        created_at=now,
        finished_at=now,
        failure=None,
        error=None,
    )


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def headline(event: DeployEvent) -> str:
    """One line: what happened, where (the e-mail's subject after ``[devpush]``)."""
    where = f"{event.project_name} {event.environment}"
    if event.failed:
        failure = event.failure
        if failure is None:
            return f"{where}: deploy failed"
        code = f" (exit {failure.exit_code})" if failure.exit_code is not None else ""
        return f"{where}: deploy failed at {failure.step.label}{code}"
    done = f"{where}: deployed {event.branch}" + (
        f" ({event.short_commit})" if event.commit else ""
    )
    return f"{done} [test]" if event.event == TEST else done


def webhook_body(event: DeployEvent) -> dict[str, Any]:
    """The signed webhook's JSON body (docs/notifications.md shows it)."""
    body: dict[str, Any] = {
        "event": event.event,
        "project": {"id": event.project_id, "name": event.project_name},
        "environment": event.environment,
        "deployment": {
            "id": event.deployment_id,
            "url": event.url,
            "branch": event.branch,
            "commit": event.commit,
            "status": event.status,
            "trigger": event.trigger,
            "created_at": _time(event.created_at),
            "finished_at": _time(event.finished_at),
        },
    }
    if event.failed:
        failure = event.failure
        body["failure"] = (
            {"step": failure.step.value, "exit_code": failure.exit_code, "lines": failure.lines}
            if failure is not None
            else None
        )
        body["error"] = event.error
    return body


def webhook_payload(event: DeployEvent) -> bytes:
    """The exact bytes sent and signed."""
    return json.dumps(webhook_body(event), ensure_ascii=False, separators=(",", ":")).encode()


def slack_escape(text: str) -> str:
    """Slack's three control characters (its "Escaping text" rules)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def last_lines(lines: list[str], *, max_chars: int) -> list[str]:
    """The newest lines that fit ``max_chars`` together (one cut line if even it is too long)."""
    kept: list[str] = []
    budget = max_chars
    for line in reversed(lines):
        if len(line) + 1 > budget:
            if not kept and budget > 1:
                kept.append("…" + line[-(budget - 2) :])
            break
        kept.append(line)
        budget -= len(line) + 1
    kept.reverse()
    return kept


def _slack_code(lines: list[str]) -> str:
    # Backticks in the output would close the block early: a zero-width space splits them.
    escaped = [slack_escape(line).replace("```", "`\u200b``") for line in lines]
    return "```\n" + "\n".join(last_lines(escaped, max_chars=SLACK_LINES_MAX_CHARS)) + "\n```"


def slack_message(event: DeployEvent) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook message: ``text`` and ``blocks``."""
    icon = ":x:" if event.failed else ":white_check_mark:"
    text = f"{icon} {slack_escape(headline(event))}"
    details = [f"*Branch* `{slack_escape(event.branch)}`"]
    if event.commit:
        details.append(f"*Commit* `{event.short_commit}`")
    if event.url:
        details.append(f"<{slack_escape(event.url)}|Open the deployment>")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "  ·  ".join(details)}]},
    ]
    if event.failed and event.error:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(event.error)}}
        )
    if event.failure is not None and event.failure.lines:
        code = _slack_code(event.failure.lines)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": code}})
    return {"text": text, "blocks": blocks}


def _one_line(text: str) -> str:
    """A header value: no line breaks (they would start another header)."""
    return " ".join(text.split())


def email_text(event: DeployEvent) -> str:
    """The e-mail's plain text."""
    rows = [
        headline(event),
        "",
        f"Project:     {event.project_name}",
        f"Environment: {event.environment}",
        f"Branch:      {event.branch}",
        f"Commit:      {event.commit or '-'}",
        f"Status:      {event.status}",
        f"Deployment:  {event.deployment_id}",
    ]
    if event.url:
        rows.append(f"URL:         {event.url}")
    if event.failed:
        if event.error:
            rows += ["", event.error]
        if event.failure is not None:
            code = event.failure.exit_code
            rows += [
                "",
                f"Step: {event.failure.step.label}",
                f"Exit code: {code if code is not None else '-'}",
            ]
            if event.failure.lines:
                rows += ["", "Last lines:", ""]
                rows += last_lines(event.failure.lines, max_chars=EMAIL_LINES_MAX_CHARS)
    return "\n".join(rows) + "\n"


def email_message(event: DeployEvent, *, sender: str, to: str) -> EmailMessage:
    """The e-mail: plain text, with the same text HTML-escaped as an alternative."""
    message = EmailMessage()
    message["Subject"] = _one_line(f"[devpush] {headline(event)}")
    message["From"] = sender
    message["To"] = to
    text = email_text(event)
    message.set_content(text)
    message.add_alternative(f"<pre>{html.escape(text)}</pre>\n", subtype="html")
    return message


def slack_payload(event: DeployEvent) -> bytes:
    return json.dumps(slack_message(event), ensure_ascii=False).encode()
