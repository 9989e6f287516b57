"""The Domains section of a project's settings page: add, check again, remove.

Owners only (``WebOwnerProject``); the section is rendered with the settings page
(``devpush/web/project_settings.py``), which lists each domain's DNS record and status.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from devpush.core.errors import Conflict, InvalidInput
from devpush.deps import DomainJobsDep
from devpush.models import Project
from devpush.services import domains as domain_service
from devpush.web.forms import DomainField, DomainForm
from devpush.web.owned import OwnerDomain
from devpush.web.project_settings import OwnerSettingsPageDep, settings_url
from devpush.web.rendering import redirect

router = APIRouter(tags=["domains"])


def _url(project: Project) -> str:
    return settings_url(project, "domains")


@router.post("/projects/{project_ref}/settings/domains")
def add_domain(
    page: OwnerSettingsPageDep,
    jobs: DomainJobsDep,
    form: Annotated[DomainForm, Form()],
) -> Response:
    try:
        domain_service.add_domain(
            page.session,
            project=page.project,
            name=form.name,
            environment=form.environment or None,
            redirect_to=form.redirect_to or None,
            settings=page.request.app.state.settings,
            jobs=jobs,
        )
    except (InvalidInput, Conflict) as exc:
        return page.refuse(section="domain", error=exc.message, values=form.model_dump())
    return redirect(page.request, _url(page.project))


@router.post("/projects/{project_ref}/settings/domains/{name}/redirect")
def set_redirect(
    page: OwnerSettingsPageDep,
    jobs: DomainJobsDep,
    domain: OwnerDomain,
    redirect_to: DomainField = "",
) -> Response:
    """Redirect the domain to its twin, or (empty) serve it itself."""
    try:
        domain_service.set_redirect(
            page.session, domain=domain, redirect_to=redirect_to or None, jobs=jobs
        )
    except InvalidInput as exc:
        return page.refuse(section="domain", error=exc.message)
    return redirect(page.request, _url(page.project))


@router.post("/projects/{project_ref}/settings/domains/{name}/check")
def check_domain(page: OwnerSettingsPageDep, jobs: DomainJobsDep, domain: OwnerDomain) -> Response:
    """Check the domain's DNS again now (after its owner fixed a record)."""
    domain_service.check_again(page.session, domain=domain, jobs=jobs)
    return redirect(page.request, _url(page.project))


@router.post("/projects/{project_ref}/settings/domains/{name}/delete")
def remove_domain(page: OwnerSettingsPageDep, jobs: DomainJobsDep, domain: OwnerDomain) -> Response:
    domain_service.remove_domain(page.session, domain=domain, jobs=jobs)
    return redirect(page.request, _url(page.project))
