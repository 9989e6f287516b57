"""Passwords (argon2), API tokens (random, stored as SHA-256) and CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

#: Every API token starts with this, so a leaked one is easy to recognise in a scan.
TOKEN_PREFIX = "dp_"  # noqa: S105 - a marker, not a secret
#: How many characters of a token the UI shows to tell tokens apart.
TOKEN_DISPLAY_CHARS = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def hash_token(plaintext: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (no salt, no argon2).
    return hashlib.sha256(plaintext.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class NewToken:
    """A freshly generated API token: ``plaintext`` is shown once and never stored; what
    is stored (its hash and the prefix the UI shows) is derived from it."""

    plaintext: str

    @property
    def token_hash(self) -> str:
        return hash_token(self.plaintext)

    @property
    def prefix(self) -> str:
        return self.plaintext[:TOKEN_DISPLAY_CHARS]


def generate_token() -> NewToken:
    return NewToken(TOKEN_PREFIX + secrets.token_urlsafe(32))


#: The session key holding the CSRF token, the form field and the header (htmx) carrying it.
CSRF_SESSION_KEY = "csrf"
CSRF_FORM_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def csrf_token_for(session: dict[str, object]) -> str:
    """The session's CSRF token, created on first use."""
    token = session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return token


def csrf_matches(session: dict[str, object], submitted: str | None) -> bool:
    expected = session.get(CSRF_SESSION_KEY)
    if not isinstance(expected, str) or not expected or not submitted:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())
