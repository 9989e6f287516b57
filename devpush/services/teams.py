"""Teams and memberships: who may see which projects."""

from __future__ import annotations

import re

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from devpush.core.errors import Conflict, InvalidInput
from devpush.models import Team, TeamMember, TeamRole, User

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    return _NOT_SLUG.sub("-", text.lower()).strip("-")[:60] or "team"


def _free_slug(session: Session, base: str) -> str:
    taken = set(session.scalars(select(Team.slug).where(Team.slug.startswith(base))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def create_team(session: Session, *, name: str, owner: User) -> Team:
    name = name.strip()
    if not name:
        raise InvalidInput("a team needs a name")
    team = Team(name=name, slug=_free_slug(session, slugify(name)))
    team.members.append(TeamMember(user=owner, role=TeamRole.OWNER))
    session.add(team)
    session.flush()
    return team


def add_member(
    session: Session, *, team: Team, user: User, role: TeamRole = TeamRole.MEMBER
) -> TeamMember:
    member = TeamMember(team=team, user=user, role=role)
    session.add(member)
    session.flush()
    return member


def _teams_of(user_id: int) -> Select[Team]:
    """The teams the user is a member of."""
    return (
        select(Team)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(TeamMember.user_id == user_id)
    )


def teams_for_user(session: Session, *, user_id: int) -> list[Team]:
    return list(session.scalars(_teams_of(user_id).order_by(Team.name, Team.id)))


def member_team(session: Session, *, user_id: int, team_id: str) -> Team | None:
    """The team if the user belongs to it, else None (callers answer 404)."""
    return session.scalar(_teams_of(user_id).where(Team.id == team_id))


class MembershipError(Conflict, ValueError):
    """A membership change that would break the team (its last owner) or is a duplicate."""


def role_in_team(session: Session, *, user_id: int, team_id: str) -> TeamRole | None:
    return session.scalar(
        select(TeamMember.role).where(TeamMember.user_id == user_id, TeamMember.team_id == team_id)
    )


def list_members(session: Session, *, team_id: str) -> list[TeamMember]:
    return list(
        session.scalars(
            select(TeamMember)
            .join(User, User.id == TeamMember.user_id)
            .where(TeamMember.team_id == team_id)
            .order_by(TeamMember.role.desc(), User.email)
        )
    )


def _owners(session: Session, *, team_id: str) -> int:
    return len(
        session.scalars(
            select(TeamMember.user_id).where(
                TeamMember.team_id == team_id, TeamMember.role == TeamRole.OWNER
            )
        ).all()
    )


def add_existing_user(
    session: Session, *, team: Team, user: User, role: TeamRole = TeamRole.MEMBER
) -> TeamMember:
    if role_in_team(session, user_id=user.id, team_id=team.id) is not None:
        raise MembershipError(f"{user.email} is already in this team")
    return add_member(session, team=team, user=user, role=role)


def set_role(session: Session, *, team: Team, user_id: int, role: TeamRole) -> TeamMember | None:
    """Change a member's role; None if not a member. A team keeps at least one owner."""
    member = session.get(TeamMember, (team.id, user_id))
    if member is None:
        return None
    demoted = member.role is TeamRole.OWNER and role is not TeamRole.OWNER
    if demoted and _owners(session, team_id=team.id) <= 1:
        raise MembershipError("a team needs at least one owner")
    member.role = role
    session.flush()
    return member


def remove_member(session: Session, *, team: Team, user_id: int) -> bool:
    """Remove a member and end their web sign-ins; False if not a member.

    Their sessions end so a browser open on the team's pages loses it at once; the
    user signs in again (into the teams they still belong to).
    """
    from devpush.services.sessions import end_user_sessions

    member = session.get(TeamMember, (team.id, user_id))
    if member is None:
        return False
    if member.role is TeamRole.OWNER and _owners(session, team_id=team.id) <= 1:
        raise MembershipError("a team needs at least one owner: the last one cannot leave")
    session.delete(member)
    end_user_sessions(session, user_id=user_id)
    session.flush()
    return True
