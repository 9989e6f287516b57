"""A project's notification channels over the API.

Members of the team read the channels and their attempts; owners add, remove and test
them (403 for a member, 404 outside the team). A webhook channel's secret is in the
answer that creates it, and never again.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict

from devpush.api.schemas import ApiBody, read_fields
from devpush.deps import ApiOwnerProject, ApiProject, FernetDep, SessionDep, SettingsDep
from devpush.models import NotificationAttempt, NotificationChannel, NotificationKind, Project
from devpush.services.notifications import channels as channel_service
from devpush.services.notifications.delivery import send_test

router = APIRouter(prefix="/projects", tags=["notifications"])
# Routes here repeat their parameter lists on purpose: FastAPI reads each signature
# (dependencies, form fields); the shared work is in devpush/deps.py and the services.


class NotificationChannelIn(channel_service.ChannelCreate, ApiBody):
    """A new channel: ``webhook`` or ``slack`` (an http(s) URL) or ``email`` (an address)."""


class NotificationChannelPublic(BaseModel):
    id: str
    kind: NotificationKind
    #: The URL or address (a Slack URL without its secret path).
    target: str
    on_failure: bool
    on_success: bool
    created_at: datetime

    @classmethod
    def of(cls, channel: NotificationChannel) -> NotificationChannelPublic:
        return read_fields(cls, channel, target=channel_service.shown_target(channel))


class NotificationChannelCreated(NotificationChannelPublic):
    #: A webhook channel's HMAC secret: shown once, in this answer only.
    secret: str | None = None


class NotificationAttemptPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    deployment_id: str
    attempt: int
    at: datetime
    ok: bool
    #: The receiver's HTTP status or the SMTP server's reply code.
    status_code: int | None
    error: str


def _channel(session: SessionDep, project: Project, channel_id: str) -> NotificationChannel:
    return channel_service.find_channel(session, project=project, channel_id=channel_id)


@router.get("/{project_ref}/notifications", response_model=list[NotificationChannelPublic])
def list_channels(project: ApiProject, session: SessionDep) -> list[NotificationChannelPublic]:
    return [
        NotificationChannelPublic.of(channel)
        for channel in channel_service.list_channels(session, project_id=project.id)
    ]


@router.post(
    "/{project_ref}/notifications",
    status_code=status.HTTP_201_CREATED,
    response_model=NotificationChannelCreated,
)
def add_channel(
    body: NotificationChannelIn, project: ApiOwnerProject, session: SessionDep, fernet: FernetDep
) -> NotificationChannelCreated:
    """Add a channel; a webhook's signing secret is in this answer, once."""
    channel, secret = channel_service.create_channel(
        session, project=project, data=body, fernet=fernet
    )
    public = NotificationChannelPublic.of(channel)
    return NotificationChannelCreated(**public.model_dump(), secret=secret)


@router.delete("/{project_ref}/notifications/{channel_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_channel(channel_id: str, project: ApiOwnerProject, session: SessionDep) -> None:
    channel_service.delete_channel(session, channel=_channel(session, project, channel_id))


@router.post(
    "/{project_ref}/notifications/{channel_id}/test", response_model=NotificationAttemptPublic
)
def test_channel(
    channel_id: str,
    project: ApiOwnerProject,
    session: SessionDep,
    settings: SettingsDep,
    fernet: FernetDep,
) -> NotificationAttempt:
    """Send a test message now (event ``test``); the answer is the recorded attempt."""
    channel = _channel(session, project, channel_id)
    return send_test(session, channel=channel, project=project, settings=settings, fernet=fernet)


@router.get(
    "/{project_ref}/notifications/{channel_id}/attempts",
    response_model=list[NotificationAttemptPublic],
)
def list_attempts(
    channel_id: str, project: ApiProject, session: SessionDep
) -> list[NotificationAttempt]:
    """The channel's newest attempts first."""
    channel = _channel(session, project, channel_id)
    return channel_service.recent_attempts(session, channel_id=channel.id)
