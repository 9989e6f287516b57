"""The Notifications section of a project's settings page: add, test, remove channels.

Owners only (``WebOwnerProject``); the section itself is rendered with the settings page
(``devpush/web/project_settings.py``). A new webhook's secret is shown once, in the page
that answers the form (never in a URL).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response
from pydantic import ValidationError

from devpush.models import Project
from devpush.services.notifications import channels as channel_service
from devpush.services.notifications.delivery import send_test
from devpush.web.form_errors import field_errors
from devpush.web.owned import OwnerChannel
from devpush.web.project_settings import OwnerSettingsPageDep, settings_url
from devpush.web.rendering import redirect

router = APIRouter(tags=["notifications"])


def _url(project: Project) -> str:
    return settings_url(project, "notifications")


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
def test_channel(page: OwnerSettingsPageDep, channel: OwnerChannel) -> Response:
    """Send a test message now; its result is the newest attempt in the list."""
    send_test(
        page.session,
        channel=channel,
        project=page.project,
        settings=page.request.app.state.settings,
        fernet=page.fernet,
    )
    return redirect(page.request, _url(page.project))


@router.post("/projects/{project_ref}/settings/notifications/{channel_id}/delete")
def remove_channel(page: OwnerSettingsPageDep, channel: OwnerChannel) -> Response:
    channel_service.delete_channel(page.session, channel=channel)
    return redirect(page.request, _url(page.project))
