"""Web sign-ins kept on the server: the signed cookie names a row, valid while it exists.

The cookie (Starlette's signed session) carries a random session key; the database
keeps only its SHA-256. Logging out deletes the row, so a copy of the cookie taken
before is refused afterwards; a password change and a removal from a team delete all
of a user's rows.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from devpush.core.security import hash_token
from devpush.models import UserSession, utcnow

# Don't write on every request: last_seen_at only moves the idle expiry forward.
_SEEN_RESOLUTION = timedelta(minutes=1)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored as UTC).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=utcnow().tzinfo)


def start_session(session: Session, *, user_id: int, max_age: timedelta) -> str:
    """A new sign-in for ``user_id``; returns the key the cookie carries (never stored)."""
    now = utcnow()
    # Expired rows of this user go on the way: the table does not grow without bound.
    session.execute(
        delete(UserSession).where(
            UserSession.user_id == user_id, UserSession.last_seen_at < now - max_age
        )
    )
    key = secrets.token_urlsafe(32)
    session.add(UserSession(id=hash_token(key), user_id=user_id, created_at=now, last_seen_at=now))
    session.flush()
    return key


def session_user_id(session: Session, *, key: str, max_age: timedelta) -> int | None:
    """The user of a live sign-in, or None (ended, expired, or never existed)."""
    row = session.get(UserSession, hash_token(key))
    if row is None:
        return None
    now = utcnow()
    seen = _aware(row.last_seen_at)
    if now - seen > max_age:
        session.delete(row)
        return None
    if now - seen > _SEEN_RESOLUTION:
        row.last_seen_at = now
    return row.user_id


def end_session(session: Session, *, key: str) -> None:
    session.execute(delete(UserSession).where(UserSession.id == hash_token(key)))


def end_user_sessions(session: Session, *, user_id: int, keep_key: str | None = None) -> int:
    """End every sign-in of the user (except ``keep_key``'s); how many ended."""
    query = delete(UserSession).where(UserSession.user_id == user_id)
    if keep_key is not None:
        query = query.where(UserSession.id != hash_token(keep_key))
    result = session.execute(query)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def count_sessions(session: Session, *, user_id: int) -> int:
    return len(session.scalars(select(UserSession.id).where(UserSession.user_id == user_id)).all())
