"""API tokens: created with a name, shown once, stored as a hash, revocable."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from devpush.core.errors import InvalidInput
from devpush.core.security import generate_token, hash_token
from devpush.models import ApiToken, User, utcnow

# Don't write on every API call: last_used_at is only a hint for the UI.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def create_token(session: Session, *, user: User, name: str) -> tuple[ApiToken, str]:
    """The new token row and its plaintext, which is never stored."""
    name = name.strip()[:100]
    if not name:
        raise InvalidInput("a token needs a name")
    new = generate_token()
    token = ApiToken(user=user, name=name, token_hash=new.token_hash, prefix=new.prefix)
    session.add(token)
    session.flush()
    return token, new.plaintext


def list_tokens(session: Session, *, user_id: int) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user_id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_token(session: Session, *, user_id: int, token_id: int) -> bool:
    """Delete one of the user's tokens; False if the user has no such token."""
    token = session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id)
    )
    if token is None:
        return False
    session.delete(token)
    session.flush()
    return True


def user_for_token(session: Session, *, plaintext: str) -> User | None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plaintext)))
    if token is None:
        return None
    now = utcnow()
    last = token.last_used_at
    if last is not None and last.tzinfo is None:  # SQLite hands back naive datetimes
        last = last.replace(tzinfo=now.tzinfo)
    if last is None or now - last > _LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token.user
