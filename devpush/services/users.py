"""Users: creation, password log-in and change, the first user, and users added by an admin."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from devpush.core.errors import Conflict, Forbidden, InvalidInput
from devpush.core.security import hash_password, password_needs_rehash, verify_password
from devpush.models import Team, TeamRole, User
from devpush.services.teams import add_member, create_team

# Verified against when the e-mail is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = hash_password("devpush-timing-equaliser")


class UserExistsError(Conflict):
    """A user with this e-mail already exists."""

    user_message = "a user with this e-mail exists"


def normalize_email(email: str) -> str:
    return email.strip().lower()


def get_user_by_email(session: Session, *, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalize_email(email)))


def create_user(session: Session, *, email: str, password: str, name: str = "") -> User:
    email = normalize_email(email)
    if not email or "@" not in email:
        raise InvalidInput("a valid e-mail address is required")
    if len(password) < 8:
        raise InvalidInput("the password must have at least 8 characters")
    if get_user_by_email(session, email=email) is not None:
        raise UserExistsError(email)
    user = User(email=email, name=name, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    user = get_user_by_email(session, email=email)
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


class FirstUserOutcome(enum.StrEnum):
    CREATED = "created"
    ALREADY_EXISTS = "already-exists"
    OTHER_USERS_EXIST = "other-users-exist"


@dataclass(frozen=True, slots=True)
class FirstUserResult:
    outcome: FirstUserOutcome
    user: User | None
    team: Team | None


def ensure_first_user(
    session: Session, *, email: str, password: str, team_name: str
) -> FirstUserResult:
    """Create the first user and their team on an empty install; otherwise change nothing.

    Idempotent: run again with the same e-mail it reports ``ALREADY_EXISTS``.
    """
    existing = get_user_by_email(session, email=email)
    if existing is not None:
        return FirstUserResult(FirstUserOutcome.ALREADY_EXISTS, existing, None)
    if session.scalar(select(func.count()).select_from(User)):
        return FirstUserResult(FirstUserOutcome.OTHER_USERS_EXIST, None, None)
    user = create_user(session, email=email, password=password)
    user.is_admin = True
    team = create_team(session, name=team_name, owner=user)
    return FirstUserResult(FirstUserOutcome.CREATED, user, team)


class WrongPasswordError(Forbidden, ValueError):
    """The current password given with a password change is wrong."""


def change_password(
    session: Session, *, user: User, current: str, new: str, keep_session_key: str | None = None
) -> None:
    """Set a new password and end the user's other sign-ins (``keep_session_key``'s stays)."""
    from devpush.services.sessions import end_user_sessions

    if not verify_password(user.password_hash, current):
        raise WrongPasswordError("the current password is wrong")
    if len(new) < 8:
        raise InvalidInput("the new password must have at least 8 characters")
    user.password_hash = hash_password(new)
    end_user_sessions(session, user_id=user.id, keep_key=keep_session_key)
    session.flush()


def add_user(
    session: Session,
    *,
    email: str,
    password: str,
    name: str = "",
    team: Team | None = None,
    role: TeamRole = TeamRole.MEMBER,
    admin: bool = False,
) -> tuple[User, Team]:
    """A new user (an admin adds them): into ``team`` with ``role``, or a team of their own."""
    user = create_user(session, email=email, password=password, name=name.strip())
    user.is_admin = admin
    if team is None:
        team = create_team(session, name=name.strip() or user.email.partition("@")[0], owner=user)
    else:
        add_member(session, team=team, user=user, role=role)
    return user, team
