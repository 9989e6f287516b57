"""Teams over the API: members (owners add, change and remove them) and users (admins add)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlalchemy.orm import Session

from devpush.api.schemas import (
    MemberIn,
    MemberPublic,
    RoleIn,
    TeamPublic,
    UserCreateIn,
    UserPublic,
)
from devpush.deps import ApiAdmin, ApiOwnerTeam, ApiTeam, SessionDep
from devpush.models import Team, TeamMember
from devpush.services import teams as team_service
from devpush.services import users as user_service

router = APIRouter(tags=["teams"])


def _public(member: TeamMember) -> MemberPublic:
    return MemberPublic(
        user_id=member.user_id, email=member.user.email, name=member.user.name, role=member.role
    )


def _members(session: Session, team: Team) -> list[MemberPublic]:
    return [_public(m) for m in team_service.list_members(session, team_id=team.id)]


@router.get("/teams/{team_ref}/members", response_model=list[MemberPublic])
def list_members(team: ApiTeam, session: SessionDep) -> list[MemberPublic]:
    return _members(session, team)


@router.post(
    "/teams/{team_ref}/members", status_code=status.HTTP_201_CREATED, response_model=MemberPublic
)
def add_member(body: MemberIn, team: ApiOwnerTeam, session: SessionDep) -> MemberPublic:
    """Add an existing user by e-mail (owners only)."""
    user = user_service.get_user_by_email(session, email=body.email)
    if user is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "no user with this e-mail: ask an admin to add them"
        )
    member = team_service.add_existing_user(session, team=team, user=user, role=body.role)
    return _public(member)


@router.patch("/teams/{team_ref}/members/{user_id}", response_model=MemberPublic)
def set_role(user_id: int, body: RoleIn, team: ApiOwnerTeam, session: SessionDep) -> MemberPublic:
    member = team_service.set_role(session, team=team, user_id=user_id, role=body.role)
    if member is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "member not found")
    return _public(member)


@router.delete("/teams/{team_ref}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_member(user_id: int, team: ApiOwnerTeam, session: SessionDep) -> None:
    """Remove a member; their web sign-ins end."""
    removed = team_service.remove_member(session, team=team, user_id=user_id)
    if not removed:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "member not found")


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
def create_user(body: UserCreateIn, admin: ApiAdmin, session: SessionDep) -> UserPublic:
    """Add a user to the server (admins only): into one of the admin's teams, or their own."""
    team = None
    if body.team is not None:
        teams = team_service.teams_for_user(session, user_id=admin.id)
        team = next((t for t in teams if body.team in (t.id, t.slug)), None)
        if team is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "team not found")
    try:
        user, team = user_service.add_user(
            session,
            email=body.email,
            password=body.password,
            name=body.name,
            team=team,
            role=body.role,
            admin=body.admin,
        )
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    public = UserPublic.model_validate(user)
    public.teams = [TeamPublic.model_validate(team)]
    return public
