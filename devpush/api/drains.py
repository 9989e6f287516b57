"""A project's log drains over the API.

Members of the project's team list, add, test and remove them (404 outside the team).
An https drain's signing secret is in the answer that creates it, and never again;
header values are never answered, only their names.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel

from devpush.api.schemas import ApiBody, read_fields
from devpush.deps import ApiProject, FernetDep, SessionDep, SettingsDep
from devpush.models import DrainKind, EnvironmentKind, LogDrain, Project
from devpush.services.drains import configure as drain_service
from devpush.services.drains.delivery import send_test_line

router = APIRouter(prefix="/projects", tags=["drains"])
# Routes here repeat their parameter lists on purpose: FastAPI reads each signature
# (dependencies, form fields); the shared work is in devpush/deps.py and the services.


class DrainIn(drain_service.DrainCreate, ApiBody):
    """A new drain: ``https`` (NDJSON, signed), ``syslog`` (syslog[+tls]://host:port) or
    ``otlp`` (OTLP/HTTP base URL), with its filters and any request headers."""


class DrainPublic(BaseModel):
    id: str
    kind: DrainKind
    #: The URL without its query string.
    url: str
    environment: EnvironmentKind | None
    sources: list[str]
    min_level: str | None
    #: The names of the request headers it sends (their values are never shown).
    header_names: list[str]
    created_at: datetime
    #: ``new`` (nothing sent yet), ``ok`` or ``failing`` (the newest try failed).
    status: str
    last_delivery_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    #: About how many stored lines wait to be sent (0: caught up).
    lines_behind: int | None
    delivered_lines: int
    #: Lines skipped because the drain fell too far behind.
    skipped_lines: int

    @classmethod
    def of(cls, view: drain_service.DrainView) -> DrainPublic:
        return read_fields(
            cls, view.drain, url=view.url, header_names=view.header_names, status=view.status
        )


class DrainCreated(DrainPublic):
    #: An https drain's HMAC secret: shown once, in this answer only.
    secret: str | None = None


class DrainTestResult(BaseModel):
    ok: bool
    #: Why the receiver did not take the test line ("" when it did).
    error: str


def _drain(session: SessionDep, project: Project, drain_id: str) -> LogDrain:
    return drain_service.find_drain(session, project=project, drain_id=drain_id)


def _view(drain: LogDrain, fernet: FernetDep) -> DrainPublic:
    return DrainPublic.of(drain_service.drain_view(drain, fernet=fernet))


@router.get("/{project_ref}/drains", response_model=list[DrainPublic])
def list_drains(project: ApiProject, session: SessionDep, fernet: FernetDep) -> list[DrainPublic]:
    """The project's drains with their delivery status."""
    views = drain_service.drain_views(session, project_id=project.id, fernet=fernet)
    return [DrainPublic.of(view) for view in views]


@router.get("/{project_ref}/drains/{drain_id}", response_model=DrainPublic)
def get_drain(
    drain_id: str, project: ApiProject, session: SessionDep, fernet: FernetDep
) -> DrainPublic:
    return _view(_drain(session, project, drain_id), fernet)


@router.post(
    "/{project_ref}/drains", status_code=status.HTTP_201_CREATED, response_model=DrainCreated
)
def add_drain(
    body: DrainIn, project: ApiProject, session: SessionDep, fernet: FernetDep
) -> DrainCreated:
    """Add a drain; it forwards the lines stored from now on. An https drain's signing
    secret is in this answer, once."""
    drain, secret = drain_service.create_drain(session, project=project, data=body, fernet=fernet)
    return DrainCreated(**_view(drain, fernet).model_dump(), secret=secret)


@router.delete("/{project_ref}/drains/{drain_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_drain(drain_id: str, project: ApiProject, session: SessionDep) -> None:
    drain_service.delete_drain(session, drain=_drain(session, project, drain_id))


@router.post("/{project_ref}/drains/{drain_id}/test", response_model=DrainTestResult)
async def test_drain(
    drain_id: str,
    project: ApiProject,
    session: SessionDep,
    settings: SettingsDep,
    fernet: FernetDep,
) -> DrainTestResult:
    """Send a test line now (source ``test``); the answer says whether it was taken."""
    drain = _drain(session, project, drain_id)
    error = await send_test_line(
        session, drain=drain, project=project, fernet=fernet, settings=settings
    )
    return DrainTestResult(ok=error is None, error=error or "")
