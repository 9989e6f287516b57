"""Deliver one event to one channel, once, and record the attempt.

The caller (the worker's notify job, or "Send a test") decides about retries from the
returned result's ``retry``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from devpush.core.config import Settings
from devpush.models import (
    Deployment,
    NotificationAttempt,
    NotificationChannel,
    NotificationKind,
    Project,
)
from devpush.services.notifications import messages, senders
from devpush.services.notifications.channels import channel_secret

log = logging.getLogger(__name__)


def send(
    channel: NotificationChannel,
    event: messages.DeployEvent,
    *,
    delivery: str,
    settings: Settings,
    fernet: Fernet,
) -> senders.SendResult:
    """One try; any error becomes a failed result (a channel never breaks its caller)."""
    try:
        sender = SENDERS[channel.kind]
        return sender(channel, event, delivery=delivery, settings=settings, fernet=fernet)
    except Exception:
        log.exception("notification channel %s: unexpected error", channel.id)
        return senders.SendResult(ok=False, error="internal error while sending (see the log)")


# One sender per kind, chosen here from the registry below: a new kind is a new entry
# (tests/services/notifications check that every NotificationKind has one).
Sender = Callable[..., senders.SendResult]


def _send_email(
    channel: NotificationChannel, event: messages.DeployEvent, **context: Any
) -> senders.SendResult:
    settings: Settings = context["settings"]
    message = messages.email_message(event, sender=settings.smtp_from, to=channel.target)
    return senders.send_email(message, settings=settings)


def _send_slack(
    channel: NotificationChannel, event: messages.DeployEvent, **context: Any
) -> senders.SendResult:
    settings: Settings = context["settings"]
    body = messages.slack_payload(event)
    return senders.post_json(
        channel.target,
        body,
        headers={},
        timeout=settings.notification_timeout_seconds,
        secrets=[],
    )


def _send_webhook(
    channel: NotificationChannel, event: messages.DeployEvent, **context: Any
) -> senders.SendResult:
    settings: Settings = context["settings"]
    secret = channel_secret(channel, fernet=context["fernet"])
    if secret is None:
        return senders.SendResult(ok=False, error="the channel has no secret: add it again")
    body = messages.webhook_payload(event)
    headers = senders.webhook_headers(
        secret=secret, body=body, event=event.event, delivery=context["delivery"]
    )
    return senders.post_json(
        channel.target,
        body,
        headers=headers,
        timeout=settings.notification_timeout_seconds,
        secrets=[secret],
    )


SENDERS: dict[NotificationKind, Sender] = {
    NotificationKind.EMAIL: _send_email,
    NotificationKind.SLACK: _send_slack,
    NotificationKind.WEBHOOK: _send_webhook,
}


def record(
    session: Session,
    *,
    channel_id: str,
    deployment_id: str,
    attempt: int,
    result: senders.SendResult,
) -> NotificationAttempt:
    """Store the attempt (the caller commits)."""
    row = NotificationAttempt(
        channel_id=channel_id,
        deployment_id=deployment_id,
        attempt=attempt,
        ok=result.ok,
        status_code=result.status_code,
        error=result.error,
    )
    session.add(row)
    return row


def send_test(
    session: Session,
    *,
    channel: NotificationChannel,
    project: Project,
    settings: Settings,
    fernet: Fernet,
) -> NotificationAttempt:
    """Send a test message now (about the newest deployment, if any) and record it."""
    newest = session.scalar(
        select(Deployment)
        .where(Deployment.project_id == project.id)
        .order_by(Deployment.created_at.desc())
        .limit(1)
    )
    if newest is not None:
        event = messages.event_of(newest, event=messages.TEST, settings=settings)
    else:
        event = messages.sample_event(project, environment="production")
    result = send(channel, event, delivery=uuid.uuid4().hex, settings=settings, fernet=fernet)
    row = record(
        session, channel_id=channel.id, deployment_id=event.deployment_id, attempt=1, result=result
    )
    session.commit()
    return row
