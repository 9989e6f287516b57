"""A project's settings page: general settings, variables per scope, deletions.

Anyone in the project's team may read the page; changes are for the team's owners
(``WebOwnerProject``: 403 for a member, 404 outside the team). Variable values are
write-only: the page shows names, and a value can be replaced or deleted, not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from cryptography.fernet import Fernet
from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from devpush.deps import (
    FernetDep,
    QueueDep,
    SessionDep,
    WebContext,
    WebCtx,
    WebOwnerProject,
    WebProject,
)
from devpush.models import Project, TeamRole
from devpush.services import project_settings as settings_service
from devpush.services import projects as project_service
from devpush.services import replicas as replica_service
from devpush.services.domains import domain_views
from devpush.services.drains.configure import drain_views
from devpush.services.notifications.channels import channel_views
from devpush.services.project_git import access_view
from devpush.services.resources import ResourceLimitError
from devpush.services.runner_images import image_problem, offered_images
from devpush.services.teams import role_in_team
from devpush.web.form_errors import field_errors
from devpush.web.forms import EnvironmentField, EnvTextField, VariableKeyField, VariableValueField
from devpush.web.rendering import redirect, render

router = APIRouter(tags=["project settings"])
# Routes here repeat their parameter lists on purpose: FastAPI reads each signature
# (dependencies, form fields); the shared work is in devpush/deps.py and the services.


def settings_url(project: Project, anchor: str = "") -> str:
    return f"/projects/{project.slug}/settings" + (f"#{anchor}" if anchor else "")


def saved_url(project: Project, section: str) -> str:
    """Back to ``section`` saying it was saved: the query before the fragment, or the
    browser reads ``?saved=`` as part of the fragment and the notice never shows."""
    return f"/projects/{project.slug}/settings?saved={section}#{section}"


def _errors(exc: ValidationError) -> dict[str, str]:
    return field_errors(exc)


@dataclass(frozen=True, slots=True)
class SettingsPage:
    """The settings page as one request's answer. Its sections' own modules (git, domains,
    drains, notifications) answer their forms with it too."""

    request: Request
    ctx: WebContext
    project: Project
    session: Session
    fernet: Fernet

    def render(
        self,
        *,
        values: Mapping[str, object] | None = None,
        errors: dict[str, str] | None = None,
        refused: bool = False,
        section: Mapping[str, object] | None = None,
        **extra: object,
    ) -> Response:
        """The page; ``refused``: again with a 422 saying why, after rolling back what the
        form changed; ``section``: a section's context, by name (as ``extra``)."""
        request, project, session = self.request, self.project, self.session
        if refused:
            session.rollback()
        role = role_in_team(session, user_id=self.ctx.user.id, team_id=project.team_id)
        fernet, settings = self.fernet, request.app.state.settings
        context = {
            "project": project,
            "values": values if values is not None else settings_service.current_settings(project),
            "errors": errors or {},
            "images": offered_images(settings),
            "environments": project_service.list_environments(session, project=project),
            "variables": settings_service.variable_names(session, project=project, fernet=fernet),
            "shared_scope": settings_service.SHARED_SCOPE,
            "is_owner": role is TeamRole.OWNER,
            "notifications": channel_views(session, project_id=project.id),
            "drains": drain_views(session, project_id=project.id, fernet=fernet),  # web/drains.py
            "domains": domain_views(session, project=project, settings=settings),
            "git_access": access_view(project),  # the "Git access" section (devpush/web/git.py)
            "poll_min_seconds": settings.poll_min_interval_seconds,
            # The "Health check and resources" section (projects/partials/_health.html).
            "health_values": health_form_values(project),
            "health_errors": {},
            "server_limits": settings,
            # The "Build" section (projects/partials/_build.html).
            "build_values": build_form_values(project),
            "build_errors": {},
            **(section or {}),
            **extra,
        }
        return render(
            request,
            "projects/pages/settings.html",
            context,
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT if refused else status.HTTP_200_OK,
        )

    def refuse(
        self, *, section: str, error: str, values: Mapping[str, object] | None = None
    ) -> Response:
        """A section's form refused (422): the page with its ``<section>_error`` and, when
        given, the ``<section>_values`` sent, so the form shows them again."""
        extra: dict[str, object] = {f"{section}_error": error}
        if values is not None:
            extra[f"{section}_values"] = values
        return self.render(refused=True, section=extra)

    def added(self, *, section: str, anchor: str, secret: str | None) -> Response:
        """After adding a section's item: its new secret shown once, in the page that answers
        the form (never in a URL), or, without one, back to the section."""
        if secret is None:
            return redirect(self.request, settings_url(self.project, anchor))
        return self.render(section={f"{section}_secret": secret})

    def answer(
        self, *, form: str, values: Mapping[str, object], errors: dict[str, str]
    ) -> Response:
        """A section's own form (``health``, ``build``) answered: with errors, the page again
        (422) with the ``<form>_values`` sent and the ``<form>_errors``; else back to the
        section, saying it was saved."""
        if errors:
            extra = {f"{form}_values": values, f"{form}_errors": errors}
            return self.render(refused=True, section=extra)
        return redirect(self.request, saved_url(self.project, form))


def _settings_page(
    request: Request, ctx: WebCtx, project: WebProject, session: SessionDep, fernet: FernetDep
) -> SettingsPage:
    return SettingsPage(request, ctx, project, session, fernet)


def _owner_settings_page(
    page: Annotated[SettingsPage, Depends(_settings_page)], _owner: WebOwnerProject
) -> SettingsPage:
    return page


#: The route's project's settings page, for its team's members (404 outside the team).
SettingsPageDep = Annotated[SettingsPage, Depends(_settings_page)]
#: The same for the team's owners only (403 for a member): the sections' changes.
OwnerSettingsPageDep = Annotated[SettingsPage, Depends(_owner_settings_page)]


@router.get("/projects/{project_ref}/settings")
def settings_page(page: SettingsPageDep) -> Response:
    return page.render()


@router.post("/projects/{project_ref}/settings")
async def update_settings(page: OwnerSettingsPageDep) -> Response:
    request, project = page.request, page.project
    form = await request.form()
    values = {name: str(form.get(name, "")) for name in settings_service.EDITABLE}
    try:
        change = settings_service.ProjectUpdate.model_validate(
            {**values, "port": values["port"] or None}
        )
        settings_service.update_project(
            page.session, project=project, change=change, settings=request.app.state.settings
        )
    except ValidationError as exc:
        errors = _errors(exc)
    else:
        # An image this host cannot run is refused now, not at the next deploy (as at
        # creation).
        problem = await run_in_threadpool(
            image_problem, project.runner_image, request.app.state.settings
        )
        errors = {"runner_image": problem} if problem else {}
    if errors:
        return page.render(values=values, errors=errors, refused=True)
    return redirect(request, settings_url(project) + "?saved=settings")


#: The "Health check and resources" form's fields: the health check's under ``health_``.
HEALTH_FIELDS = (
    "health_path",
    "health_expect_status",
    "health_grace_seconds",
    "health_interval_seconds",
    "health_failure_threshold",
    "memory_mb",
    "cpus",
    "placement_label",
)


def health_form_values(project: Project) -> dict[str, str]:
    """The form's values: empty where the project keeps the default (or has checks off)."""
    values = {f"health_{name}": value for name, value in project.health_check.items()}
    values |= {
        "memory_mb": project.memory_mb,
        "cpus": project.cpus,
        "placement_label": project.placement_label,
    }
    return {name: "" if value is None else str(value) for name, value in values.items()}


def _health_change(values: Mapping[str, str]) -> settings_service.ProjectUpdate:
    """The form as a change: an empty field sets the default (or turns checks off)."""
    check = {
        name.removeprefix("health_"): values[name] or None
        for name in HEALTH_FIELDS
        if name.startswith("health_")
    }
    return settings_service.ProjectUpdate.model_validate(
        {
            "health_check": check,
            "memory_mb": values["memory_mb"] or None,
            "cpus": values["cpus"] or None,
            "placement_label": values["placement_label"],
        }
    )


def _health_field(loc: list[str]) -> str:
    """The form's field for an error (the check's fields are nested in the body)."""
    name = f"health_{loc[1]}" if loc[:1] == ["health_check"] and len(loc) > 1 else loc[0]
    return name if name in HEALTH_FIELDS else "form"


@router.post("/projects/{project_ref}/settings/health")
async def update_health(page: OwnerSettingsPageDep) -> Response:
    """The health check and the runner's limits (above the server's maximums: refused)."""
    form = await page.request.form()
    values = {name: str(form.get(name, "")).strip() for name in HEALTH_FIELDS}
    errors: dict[str, str] = {}
    try:
        settings_service.update_project(
            page.session,
            project=page.project,
            change=_health_change(values),
            settings=page.request.app.state.settings,
        )
    except ValidationError as exc:
        errors = field_errors(exc, _health_field)
    except ResourceLimitError as exc:
        errors = {exc.field: exc.message}
    return page.answer(form="health", values=values, errors=errors)


def build_form_values(project: Project) -> dict[str, object]:
    """The "Build" form's values: build arguments as KEY=VALUE lines."""
    args = project.build_args or {}
    return {
        "dockerfile_enabled": project.build_from_dockerfile,
        "dockerfile_path": project.dockerfile_path,
        "build_args": "\n".join(f"{key}={value}" for key, value in args.items()),
    }


def _build_field(loc: list[str]) -> str:
    """The form's field for an error (the Dockerfile's fields are nested in the body)."""
    return {"path": "dockerfile_path", "build_args": "build_args"}.get(loc[-1], "form")


@router.post("/projects/{project_ref}/settings/build")
async def update_build(page: OwnerSettingsPageDep) -> Response:
    """Build from a Dockerfile (its path, its build arguments) or with the build command."""
    form = await page.request.form()
    values: dict[str, object] = {
        "dockerfile_enabled": form.get("dockerfile_enabled") == "1",
        "dockerfile_path": str(form.get("dockerfile_path", "")).strip(),
        "build_args": str(form.get("build_args", "")),
    }
    errors: dict[str, str] = {}
    try:
        args = project_service.parse_env_lines(str(values["build_args"]))
    except ValueError as exc:
        errors = {"build_args": str(exc)}
    else:
        try:
            change = settings_service.ProjectUpdate.model_validate(
                {
                    "dockerfile": {
                        "enabled": values["dockerfile_enabled"],
                        "path": values["dockerfile_path"] or "Dockerfile",
                        "build_args": args,
                    }
                }
            )
            settings = page.request.app.state.settings
            settings_service.update_project(
                page.session, project=page.project, change=change, settings=settings
            )
        except ValidationError as exc:
            errors = field_errors(exc, _build_field)
    return page.answer(form="build", values=values, errors=errors)


@router.post("/projects/{project_ref}/settings/variables")
def set_variables(
    page: OwnerSettingsPageDep,
    scope: EnvironmentField,
    env_vars: EnvTextField = "",
    key: VariableKeyField = "",
    value: VariableValueField = "",
) -> Response:
    """Add or replace variables of a scope: pasted ``.env`` lines, or one ``key``'s value."""
    try:
        values = {key: value} if key else project_service.parse_env_lines(env_vars)
        if not values:
            raise ValueError("no KEY=VALUE line")
        settings_service.set_variables(
            page.session, project=page.project, scope=scope, values=values, fernet=page.fernet
        )
    except (ValueError, ValidationError) as exc:
        message = (
            _errors(exc).get("env_vars", str(exc)) if isinstance(exc, ValidationError) else str(exc)
        )
        return page.render(variables_error=message, variables_scope=scope, refused=True)
    return redirect(page.request, saved_url(page.project, "variables"))


@router.post("/projects/{project_ref}/settings/variables/delete")
def delete_variable(
    request: Request,
    project: WebOwnerProject,
    session: SessionDep,
    fernet: FernetDep,
    scope: EnvironmentField,
    key: VariableKeyField,
) -> Response:
    settings_service.unset_variables(
        session, project=project, scope=scope, keys=[key], fernet=fernet
    )
    return redirect(request, saved_url(project, "variables"))


@router.post("/projects/{project_ref}/environments/{environment_ref}/delete")
def delete_environment(
    request: Request,
    project: WebOwnerProject,
    session: SessionDep,
    queue: QueueDep,
    environment_ref: str,
) -> Response:
    settings_service.delete_environment(session, project=project, ref=environment_ref, queue=queue)
    return redirect(request, saved_url(project, "environments"))


@router.post("/projects/{project_ref}/environments/{environment_ref}/replicas")
def set_replicas(
    page: OwnerSettingsPageDep,
    environment_ref: str,
    replicas: Annotated[int, Form(ge=0, le=1000)],
) -> Response:
    """An environment's replica count (swarm mode above 1), from its next deployment."""
    try:
        replica_service.set_replicas(
            page.session,
            project=page.project,
            ref=environment_ref,
            replicas=replicas,
            settings=page.request.app.state.settings,
        )
    except (replica_service.ReplicasNeedSwarmError, replica_service.ReplicasOutOfRangeError) as exc:
        return page.render(replicas_error=str(exc), refused=True)
    return redirect(page.request, saved_url(page.project, "environments"))


@router.post("/projects/{project_ref}/delete")
def delete_project(
    page: OwnerSettingsPageDep,
    queue: QueueDep,
    confirm: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Delete after the user typed the project's name (or slug) to confirm."""
    project = page.project
    if confirm.strip() not in (project.name, project.slug):
        problem = f"Type the project's name, {project.name}, to confirm."
        return page.refuse(section="delete", error=problem)
    settings_service.delete_project(page.session, project=project, queue=queue)
    return redirect(page.request, "/projects")
