"""A project's custom domains over the API.

Members of the team read them; owners add, check again and remove them (403 for a
member, 404 outside the team). An answer carries the DNS record to create and the
domain's status with the reason of its last check (docs/domains.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from devpush.api.schemas import ApiBody, read_fields
from devpush.core.config import Settings
from devpush.core.limits import DOMAIN_CHARS, ENVIRONMENT_CHARS
from devpush.deps import ApiOwnerProject, ApiProject, DomainJobsDep, SessionDep, SettingsDep
from devpush.models import Domain, Project
from devpush.services import domains as domain_service

router = APIRouter(prefix="/projects", tags=["domains"])
# Routes here repeat their parameter lists on purpose: FastAPI reads each signature
# (dependencies, form fields); the shared work is in devpush/deps.py and the services.


class DomainIn(ApiBody):
    """A new domain of an environment (production unless named)."""

    name: str = Field(min_length=1, max_length=DOMAIN_CHARS)
    environment: str | None = Field(default=None, max_length=ENVIRONMENT_CHARS)
    #: Its apex or www twin (a domain of the same environment) to redirect to (308).
    redirect_to: str | None = Field(default=None, max_length=DOMAIN_CHARS)


class DnsRecordPublic(BaseModel):
    type: str
    name: str
    value: str


class DomainPublic(BaseModel):
    name: str
    environment: str
    #: ``pending``, ``verified`` (nothing runs in its environment yet), ``active`` or ``failed``.
    status: str
    #: What the last check found, or why it is not served yet.
    reason: str
    redirect_to: str | None
    #: The record to create at the domain's DNS provider; ``dns_records``: every one that works.
    dns_record: DnsRecordPublic
    dns_records: list[DnsRecordPublic]
    attempts: int
    checked_at: datetime | None
    next_check_at: datetime | None
    verified_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, view: domain_service.DomainView) -> DomainPublic:
        # The view's environment name, status and records; the rest are the domain's.
        return read_fields(cls, view, view.domain)


def _public(session: Session, domain: Domain, project: Project, settings: Settings) -> DomainPublic:
    return DomainPublic.of(
        domain_service.view_of(session, domain, project=project, settings=settings)
    )


def _owned_domain(name: str, project: ApiOwnerProject, session: SessionDep) -> Domain:
    """The domain named in the path, of a project the caller owns (404: no such domain)."""
    return domain_service.find_domain(session, project=project, name=name)


OwnedDomain = Annotated[Domain, Depends(_owned_domain)]


@router.get("/{project_ref}/domains", response_model=list[DomainPublic])
def list_domains(
    project: ApiProject, session: SessionDep, settings: SettingsDep
) -> list[DomainPublic]:
    return [
        DomainPublic.of(view)
        for view in domain_service.domain_views(session, project=project, settings=settings)
    ]


@router.post(
    "/{project_ref}/domains", status_code=status.HTTP_201_CREATED, response_model=DomainPublic
)
def add_domain(
    body: DomainIn,
    project: ApiOwnerProject,
    session: SessionDep,
    settings: SettingsDep,
    jobs: DomainJobsDep,
) -> DomainPublic:
    """Add a domain: the answer says which DNS record to create; the worker checks it."""
    domain = domain_service.add_domain(
        session,
        project=project,
        name=body.name,
        environment=body.environment,
        redirect_to=body.redirect_to,
        settings=settings,
        jobs=jobs,
    )
    return _public(session, domain, project, settings)


@router.get("/{project_ref}/domains/{name}", response_model=DomainPublic)
def show_domain(
    name: str, project: ApiProject, session: SessionDep, settings: SettingsDep
) -> DomainPublic:
    domain = domain_service.find_domain(session, project=project, name=name)
    return _public(session, domain, project, settings)


class DomainChange(ApiBody):
    """The redirect choice: the apex or www twin to redirect to, or null to serve it."""

    redirect_to: str | None = Field(max_length=DOMAIN_CHARS)


@router.patch("/{project_ref}/domains/{name}", response_model=DomainPublic)
def change_domain(
    domain: OwnedDomain,
    body: DomainChange,
    project: ApiOwnerProject,
    session: SessionDep,
    settings: SettingsDep,
    jobs: DomainJobsDep,
) -> DomainPublic:
    """Redirect the domain to its twin, or serve it again (``redirect_to: null``)."""
    domain_service.set_redirect(session, domain=domain, redirect_to=body.redirect_to, jobs=jobs)
    return _public(session, domain, project, settings)


@router.post("/{project_ref}/domains/{name}/check", response_model=DomainPublic)
def check_domain(
    domain: OwnedDomain,
    project: ApiOwnerProject,
    session: SessionDep,
    settings: SettingsDep,
    jobs: DomainJobsDep,
) -> DomainPublic:
    """Check the DNS again now (after fixing a record), with the back-off started over."""
    domain_service.check_again(session, domain=domain, jobs=jobs)
    return _public(session, domain, project, settings)


@router.delete("/{project_ref}/domains/{name}", status_code=status.HTTP_204_NO_CONTENT)
def remove_domain(domain: OwnedDomain, session: SessionDep, jobs: DomainJobsDep) -> None:
    """Remove a domain: it is no longer served once the proxy's cache expires (a second)."""
    domain_service.remove_domain(session, domain=domain, jobs=jobs)
