"""The log-in rate limit: failed attempts counted per account and per client address.

Failures are rows in the database (``login_failures``), so every app process of a
server shares one count; rows older than the window are deleted as new ones come.
While an account or an address is over its limit, log-ins are refused before the
password is checked, so a right guess during the lock-out does not get in either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from devpush.core.config import Settings
from devpush.core.errors import TooManyRequests
from devpush.models import LoginFailure, User, utcnow
from devpush.services.users import authenticate, normalize_email


@dataclass(frozen=True, slots=True)
class LoginLimits:
    per_account: int
    per_address: int
    window: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimits:
        return cls(
            per_account=settings.login_max_failures_per_account,
            per_address=settings.login_max_failures_per_address,
            window=timedelta(seconds=settings.login_failure_window_seconds),
        )


class LoginLimitedError(TooManyRequests):
    """Too many failed log-ins; ``retry_after`` is in seconds."""


def _message(limits: LoginLimits) -> str:
    minutes = max(1, round(limits.window.total_seconds() / 60))
    return (
        f"Too many failed log-ins. Wait {minutes} minutes and try again, "
        "or ask an administrator to reset your password."
    )


def check(session: Session, *, email: str, address: str, limits: LoginLimits) -> None:
    """Raise LoginLimitedError while the account or the address is over its limit."""
    since = utcnow() - limits.window
    email = normalize_email(email)
    recent = select(func.count()).select_from(LoginFailure).where(LoginFailure.created_at >= since)
    by_account = session.scalar(recent.where(LoginFailure.email == email)) or 0
    by_address = session.scalar(recent.where(LoginFailure.address == address)) or 0
    if by_account >= limits.per_account or by_address >= limits.per_address:
        raise LoginLimitedError(_message(limits), retry_after=int(limits.window.total_seconds()))


def record_failure(session: Session, *, email: str, address: str, limits: LoginLimits) -> None:
    now = utcnow()
    session.execute(delete(LoginFailure).where(LoginFailure.created_at < now - limits.window))
    session.add(
        LoginFailure(email=normalize_email(email)[:320], address=address[:64], created_at=now)
    )
    session.flush()


def record_success(session: Session, *, email: str) -> None:
    """A right password clears the account's failures (not the address's)."""
    session.execute(delete(LoginFailure).where(LoginFailure.email == normalize_email(email)))


def attempt_login(
    session: Session, *, email: str, password: str, address: str, limits: LoginLimits
) -> User | None:
    """The user if the password is right; None if not (the failure is recorded).

    Raises LoginLimitedError, checking nothing else, while over the limit. The caller
    commits even on failure, so the failure is counted.
    """
    check(session, email=email, address=address, limits=limits)
    user = authenticate(session, email=email, password=password)
    if user is None:
        record_failure(session, email=email, address=address, limits=limits)
        return None
    record_success(session, email=email)
    return user
