"""Teams in the web app: the switcher (one team's projects at a time), the team's members
(owners add, change and remove them) and, for admins, adding users to the server."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import Response

from devpush.deps import SESSION_TEAM, CurrentUser, SessionDep, WebAdmin, WebCtx, WebOwnerTeam
from devpush.models import TeamRole
from devpush.services.teams import (
    MembershipError,
    add_existing_user,
    list_members,
    member_team,
    remove_member,
    role_in_team,
    set_role,
)
from devpush.services.users import UserExistsError, add_user, get_user_by_email
from devpush.web.forms import EmailField, NewUserForm
from devpush.web.pages import Page, PageDep
from devpush.web.rendering import redirect, render

router = APIRouter(tags=["teams"])
# Routes here repeat their parameter lists on purpose: FastAPI reads each signature
# (dependencies, form fields); the shared work is in devpush/deps.py and the services.


@router.post("/teams/switch")
def switch_team(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    team_id: Annotated[str, Form(max_length=32)],
) -> Response:
    team = member_team(session, user_id=user.id, team_id=team_id)
    if team is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "team not found")
    request.session[SESSION_TEAM] = team.id
    return redirect(request, "/projects")


# Members of the current team -----------------------------------------------------


def _members_page(page: Page, *, code: int = 200, **extra: object) -> Response:
    ctx, session = page.ctx, page.session
    role = role_in_team(session, user_id=ctx.user.id, team_id=ctx.team.id)
    context = {
        "members": list_members(session, team_id=ctx.team.id),
        "is_owner": role is TeamRole.OWNER,
        "roles": [r.value for r in TeamRole],
        **extra,
    }
    return render(page.request, "teams/pages/members.html", context, status_code=code)


def _refused(page: Page, exc: MembershipError) -> Response:
    """The members page with why a change was refused (the last owner stays, say)."""
    return _members_page(page, error=f"{str(exc).capitalize()}.", code=status.HTTP_409_CONFLICT)


@router.get("/settings/team")
def members_page(page: PageDep) -> Response:
    return _members_page(page)


@router.post("/settings/team/members")
def add_team_member(
    page: PageDep,
    team: WebOwnerTeam,
    email: EmailField,
    role: Annotated[TeamRole, Form()] = TeamRole.MEMBER,
) -> Response:
    user = get_user_by_email(page.session, email=email)
    error = None
    if user is None:
        error = f"No user with the e-mail {email.strip()}: an admin adds new users first."
    else:
        try:
            add_existing_user(page.session, team=team, user=user, role=role)
        except MembershipError as exc:
            error = f"{str(exc).capitalize()}."
    if error:
        return _members_page(page, error=error, code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    return redirect(page.request, "/settings/team")


@router.post("/settings/team/members/{user_id}/role")
def change_member_role(
    page: PageDep, team: WebOwnerTeam, user_id: int, role: Annotated[TeamRole, Form()]
) -> Response:
    try:
        member = set_role(page.session, team=team, user_id=user_id, role=role)
    except MembershipError as exc:
        return _refused(page, exc)
    if member is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "member not found")
    return redirect(page.request, "/settings/team")


@router.post("/settings/team/members/{user_id}/remove")
def remove_team_member(page: PageDep, team: WebOwnerTeam, user_id: int) -> Response:
    try:
        removed = remove_member(page.session, team=team, user_id=user_id)
    except MembershipError as exc:
        return _refused(page, exc)
    if not removed:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "member not found")
    return redirect(page.request, "/settings/team")


# Users of the server (admins) -----------------------------------------------------


def _users_page(request: Request, *, code: int = 200, **extra: object) -> Response:
    return render(
        request,
        "teams/pages/users.html",
        {"values": {}, "roles": [r.value for r in TeamRole], **extra},
        status_code=code,
    )


@router.get("/settings/users")
def users_page(request: Request, admin: WebAdmin) -> Response:
    return _users_page(request)


@router.post("/settings/users")
def create_user_page(
    request: Request,
    ctx: WebCtx,
    admin: WebAdmin,
    session: SessionDep,
    form: Annotated[NewUserForm, Form()],
) -> Response:
    """Add a user: into the current team with ``role``, or (``placement=own``) their own team."""
    team = ctx.team if form.placement == "current" else None
    try:
        user, team = add_user(session, team=team, **form.model_dump(exclude={"placement"}))
    except UserExistsError:
        error = "A user with this e-mail exists: add them to a team on the Team page."
    except ValueError as exc:
        error = f"{str(exc).capitalize()}."
    else:
        return _users_page(request, created=user.email, created_team=team.name)
    return _users_page(
        request,
        error=error,
        values=form.model_dump(include={"email", "name"}),
        code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )
