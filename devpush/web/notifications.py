"""The Notifications section of a project's settings page: add, test, remove channels.

Owners only (``WebOwnerProject``); the section itself is rendered with the settings page
(``devpush/web/project_settings.py``). A new webhook's secret is shown once, in the page
that answers the form (never in a URL).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from devpush.deps import FernetDep, SessionDep, WebOwnerProject
from devpush.models import NotificationChannel, Project
from devpush.services.notifications import channels as channel_service
from devpush.services.notifications.delivery import send_test
from devpush.web.form_errors import field_errors
from devpush.web.project_settings import OwnerSettingsPageDep, settings_url
from devpush.web.rendering import redirect

router = APIRouter(tags=["notifications"])
# Routes here repeat their parameter lists on purpose: FastAPI reads each signature
# (dependencies, form fields); the shared work is in devpush/deps.py and the services.


def _url(project: Project) -> str:
    return settings_url(project, "notifications")


def _channel(session: SessionDep, project: Project, channel_id: str) -> NotificationChannel:
    return channel_service.find_channel(session, project=project, channel_id=channel_id)


@router.post("/projects/{project_ref}/settings/notifications")
def add_channel(
    page: OwnerSettingsPageDep,
    kind: Annotated[str, Form(max_length=20)],
    target: Annotated[str, Form(max_length=2000)] = "",
    on_failure: Annotated[bool, Form()] = False,
    on_success: Annotated[bool, Form()] = False,
) -> Response:
    values = {"kind": kind, "target": target, "on_failure": on_failure, "on_success": on_success}
    try:
        data = channel_service.ChannelCreate.model_validate(values)
    except ValidationError as exc:
        message = " ".join(field_errors(exc).values())
        return page.refuse(section="notification", error=message, values=values)
    _, secret = channel_service.create_channel(
        page.session, project=page.project, data=data, fernet=page.fernet
    )
    return page.added(section="notification", anchor="notifications", secret=secret)


@router.post("/projects/{project_ref}/settings/notifications/{channel_id}/test")
def test_channel(
    request: Request,
    project: WebOwnerProject,
    session: SessionDep,
    fernet: FernetDep,
    channel_id: str,
) -> Response:
    """Send a test message now; its result is the newest attempt in the list."""
    channel = _channel(session, project, channel_id)
    send_test(
        session,
        channel=channel,
        project=project,
        settings=request.app.state.settings,
        fernet=fernet,
    )
    return redirect(request, _url(project))


@router.post("/projects/{project_ref}/settings/notifications/{channel_id}/delete")
def remove_channel(
    request: Request, project: WebOwnerProject, session: SessionDep, channel_id: str
) -> Response:
    channel_service.delete_channel(session, channel=_channel(session, project, channel_id))
    return redirect(request, _url(project))
