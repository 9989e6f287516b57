"""A project's notification channels: add (validated), list, remove; their attempts.

A webhook channel's HMAC secret is made here, returned once to be shown, and stored
encrypted (the HMAC needs it whole). Slack URLs carry their own secret in the path, so
a channel's target is shown without it (:func:`shown_target`).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from devpush.core.crypto import decrypt_mapping, encrypt_mapping
from devpush.core.errors import NotFound
from devpush.models import NotificationAttempt, NotificationChannel, NotificationKind, Project
from devpush.services.project_rows import delete_row, project_row, project_rows

#: Attempts shown per channel.
RECENT_ATTEMPTS: Final = 10
_ADDRESS: Final = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


class ChannelNotFoundError(NotFound, LookupError):
    """No such channel in this project."""

    user_message = "notification channel not found"


def url_problem(target: str) -> str | None:
    """Why ``target`` is not a receiver URL (None: it is)."""
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "the target must be an http:// or https:// URL"
    if parts.username is not None or parts.password is not None:
        return "the target URL must not hold a user name or password"
    if any(ch.isspace() or ord(ch) < 32 for ch in target):
        return "the target URL must not contain spaces or control characters"
    return None


def address_problem(target: str) -> str | None:
    """Why ``target`` is not an e-mail address (None: it is)."""
    if len(target) > 320 or not _ADDRESS.fullmatch(target):
        return "the target must be an e-mail address, like ops@example.org"
    return None


class ChannelCreate(BaseModel):
    """A new channel: its kind, where it sends, and on which results."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: NotificationKind
    #: A URL (webhook, slack) or an e-mail address (email).
    target: str = Field(min_length=1, max_length=2000)
    on_failure: bool = True
    on_success: bool = False

    @model_validator(mode="after")
    def _valid(self) -> ChannelCreate:
        if self.kind is NotificationKind.EMAIL:
            problem = address_problem(self.target)
        else:
            problem = url_problem(self.target)
        if problem:
            raise ValueError(problem)
        if not (self.on_failure or self.on_success):
            raise ValueError("choose on_failure, on_success or both")
        return self


def create_channel(
    session: Session, *, project: Project, data: ChannelCreate, fernet: Fernet
) -> tuple[NotificationChannel, str | None]:
    """The new channel (committed) and, for a webhook, its secret (to show once)."""
    secret = secrets.token_hex(32) if data.kind is NotificationKind.WEBHOOK else None
    channel = NotificationChannel(
        project_id=project.id,
        kind=data.kind,
        target=data.target,
        secret_encrypted=encrypt_mapping(fernet, {"secret": secret}) if secret else None,
        on_failure=data.on_failure,
        on_success=data.on_success,
    )
    session.add(channel)
    session.commit()
    return channel, secret


def channel_secret(channel: NotificationChannel, *, fernet: Fernet) -> str | None:
    if not channel.secret_encrypted:
        return None
    return decrypt_mapping(fernet, channel.secret_encrypted)["secret"]


def list_channels(session: Session, *, project_id: str) -> list[NotificationChannel]:
    model = NotificationChannel
    return project_rows(session, model, model.project_id, project_id, model.created_at, model.id)


def find_channel(session: Session, *, project: Project, channel_id: str) -> NotificationChannel:
    return project_row(
        session, NotificationChannel, channel_id, project=project, missing=ChannelNotFoundError
    )


def delete_channel(session: Session, *, channel: NotificationChannel) -> None:
    delete_row(session, channel)


def shown_target(channel: NotificationChannel) -> str:
    """The target as users see it: a Slack URL's secret path is left out."""
    if channel.kind is not NotificationKind.SLACK:
        return channel.target
    parts = urlsplit(channel.target)
    return f"{parts.scheme}://{parts.netloc}/…"


def recent_attempts(
    session: Session, *, channel_id: str, limit: int = RECENT_ATTEMPTS
) -> list[NotificationAttempt]:
    """The channel's newest attempts first."""
    return list(
        session.scalars(
            select(NotificationAttempt)
            .where(NotificationAttempt.channel_id == channel_id)
            .order_by(NotificationAttempt.at.desc(), NotificationAttempt.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True, slots=True)
class ChannelView:
    """A channel as the settings page lists it: shown target and newest attempts."""

    channel: NotificationChannel
    target: str
    attempts: list[NotificationAttempt]


def channel_views(session: Session, *, project_id: str) -> list[ChannelView]:
    return [
        ChannelView(
            channel=channel,
            target=shown_target(channel),
            attempts=recent_attempts(session, channel_id=channel.id, limit=5),
        )
        for channel in list_channels(session, project_id=project_id)
    ]
