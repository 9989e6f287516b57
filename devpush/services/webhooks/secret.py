"""A project's webhook: its secret (encrypted at rest, shown once) and its address."""

from __future__ import annotations

import secrets

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.orm import Session

from devpush.core.crypto import DecryptionError
from devpush.models import Project

#: Where forges post, below the API prefix; the project's id follows.
HOOK_PATH = "/api/v1/hooks/"


def hook_url(project: Project, *, base_url: str) -> str:
    """The address to paste into the forge (``base_url``: the app's, without a slash)."""
    return f"{base_url.rstrip('/')}{HOOK_PATH}{project.id}"


def rotate_secret(session: Session, *, project: Project, fernet: Fernet) -> str:
    """Set a new secret (the webhook starts working, or the old secret stops); the caller
    shows it once."""
    secret = secrets.token_urlsafe(32)
    project.webhook_secret_encrypted = fernet.encrypt(secret.encode()).decode()
    session.commit()
    return secret


def webhook_secret(project: Project, *, fernet: Fernet) -> str | None:
    """The secret, or None when the project has no webhook."""
    if project.webhook_secret_encrypted is None:
        return None
    try:
        return fernet.decrypt(project.webhook_secret_encrypted.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("the webhook secret does not decrypt: secret key changed?") from exc
