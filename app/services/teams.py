"""Teams and memberships: who may see which projects."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Team, TeamMember, TeamRole, User

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
        raise ValueError("a team needs a name")
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


def teams_for_user(session: Session, *, user_id: int) -> list[Team]:
    return list(
        session.scalars(
            select(Team)
            .join(TeamMember, TeamMember.team_id == Team.id)
            .where(TeamMember.user_id == user_id)
            .order_by(Team.name, Team.id)
        )
    )


def member_team(session: Session, *, user_id: int, team_id: str) -> Team | None:
    """The team if the user belongs to it, else None (callers answer 404)."""
    return session.scalar(
        select(Team)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(TeamMember.user_id == user_id, Team.id == team_id)
    )
