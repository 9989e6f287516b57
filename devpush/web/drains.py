"""The Drains section of a project's settings page: add, test, remove log drains.

Members of the project's team (``WebProject``: 404 outside the team); the section is
rendered with the settings page (``devpush/web/project_settings.py``). A new https
drain's signing secret is shown once, in the page that answers the form (never in a URL).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response
from pydantic import ValidationError

from devpush.models import Project
from devpush.services.drains import configure as drain_service
from devpush.services.drains.delivery import send_test_line
from devpush.web.form_errors import field_errors
from devpush.web.owned import TeamDrain
from devpush.web.project_settings import SettingsPageDep, settings_url
from devpush.web.rendering import redirect

router = APIRouter(tags=["drains"])


def _url(project: Project) -> str:
    return settings_url(project, "drains")


@router.post("/projects/{project_ref}/settings/drains")
def add_drain(
    page: SettingsPageDep,
    kind: Annotated[str, Form(max_length=20)],
    url: Annotated[str, Form(max_length=2000)] = "",
    environment: Annotated[str, Form(max_length=20)] = "",
    sources: Annotated[list[str] | None, Form()] = None,
    min_level: Annotated[str, Form(max_length=20)] = "",
    headers: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    values = {
        "kind": kind,
        "url": url,
        "environment": environment or None,
        "sources": sources or [],
        "min_level": min_level or None,
    }
    try:
        parsed = drain_service.parse_header_lines(headers)
        data = drain_service.DrainCreate.model_validate({**values, "headers": parsed})
    except (ValueError, ValidationError) as exc:
        message = (
            " ".join(field_errors(exc).values()) if isinstance(exc, ValidationError) else str(exc)
        )
        return page.refuse(section="drain", error=message, values=values)
    _, secret = drain_service.create_drain(
        page.session, project=page.project, data=data, fernet=page.fernet
    )
    return page.added(section="drain", anchor="drains", secret=secret)


@router.post("/projects/{project_ref}/settings/drains/{drain_id}/test")
async def test_drain(page: SettingsPageDep, drain: TeamDrain) -> Response:
    """Send a test line now; its result shows as the drain's last delivery or error."""
    await send_test_line(
        page.session,
        drain=drain,
        project=page.project,
        fernet=page.fernet,
        settings=page.request.app.state.settings,
    )
    return redirect(page.request, _url(page.project))


@router.post("/projects/{project_ref}/settings/drains/{drain_id}/delete")
def remove_drain(page: SettingsPageDep, drain: TeamDrain) -> Response:
    drain_service.delete_drain(page.session, drain=drain)
    return redirect(page.request, _url(page.project))
