"""The "Git access" section of a project's settings page: deploy key, host keys, token,
the access check and the poller.

Changes are for owners (``WebOwnerProject``); any member may run the check. The token
is write-only: the page says whether one is set, never shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from devpush.deps import FernetDep, SessionDep, WebOwnerProject
from devpush.models import Project
from devpush.services import project_git
from devpush.services.git_access import HostKeyError
from devpush.web.project_settings import (
    OwnerSettingsPageDep,
    SettingsPage,
    SettingsPageDep,
    saved_url,
)
from devpush.web.rendering import redirect

router = APIRouter(tags=["git access"])


def _back(request: Request, project: Project) -> Response:
    return redirect(request, saved_url(project, "git"))


def _save(
    page: SettingsPage,
    change: Callable[[], None],
    *,
    refused: type[Exception] = ValueError,
    message: Callable[[Exception], str] = str,
) -> Response:
    """Make ``change`` and commit it; a ``refused`` error: the page again, saying why."""
    try:
        change()
    except refused as exc:
        return page.refuse(section="git", error=message(exc))
    page.session.commit()
    return _back(page.request, page.project)


@router.post("/projects/{project_ref}/settings/git/deploy-key")
def make_deploy_key(
    request: Request, project: WebOwnerProject, session: SessionDep, fernet: FernetDep
) -> Response:
    project_git.make_deploy_key(project, fernet)
    session.commit()
    return _back(request, project)


@router.post("/projects/{project_ref}/settings/git/token")
def set_token(
    page: OwnerSettingsPageDep,
    token: Annotated[str, Form(max_length=project_git.TOKEN_MAX_CHARS)],
    username: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Keep the token, encrypted (the page says one is set, never shows it)."""

    def change() -> None:
        project_git.set_token(page.project, page.fernet, token=token, username=username)

    return _save(page, change)


@router.post("/projects/{project_ref}/settings/git/token/delete")
def delete_token(request: Request, project: WebOwnerProject, session: SessionDep) -> Response:
    project_git.clear_token(project)
    session.commit()
    return _back(request, project)


@router.post("/projects/{project_ref}/settings/git/host-keys")
def set_host_keys(
    page: OwnerSettingsPageDep,
    known_hosts: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """Pin the known_hosts lines given; none given: the keys the host shows now."""

    def pin() -> None:
        if known_hosts.strip():
            project_git.set_known_hosts(page.project, known_hosts)
        else:
            project_git.pin_host_keys(page.project)

    return _save(page, pin, refused=HostKeyError)


@router.post("/projects/{project_ref}/settings/git/check")
async def check_access(page: SettingsPageDep) -> Response:
    settings = page.request.app.state.settings
    problem = await run_in_threadpool(project_git.check_access, page.project, page.fernet, settings)
    page.session.commit()  # a host key pinned on first use
    return page.render(git_checked=True, git_problem=problem)


@router.post("/projects/{project_ref}/settings/git/poll")
def set_poll(
    page: OwnerSettingsPageDep,
    interval: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Turn the poller on (every ``interval`` s) or off (left empty)."""

    def set_interval() -> None:
        seconds = int(interval) if interval.strip() else None
        if seconds is not None and seconds <= 0:
            raise ValueError("the poll interval must be a positive number of seconds")
        settings = page.request.app.state.settings
        project_git.set_poll_interval(page.project, seconds, settings=settings)

    return _save(page, set_interval, message=_poll_problem)


def _poll_problem(exc: Exception) -> str:
    """The interval's own message, or (``int()`` refused it) that it is not a number."""
    return str(exc) if "interval" in str(exc) else "the poll interval must be a number"
