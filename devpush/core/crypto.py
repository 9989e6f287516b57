"""Encryption at rest for secrets stored in the database (environment variables)."""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from devpush.core.errors import DevpushError


class DecryptionError(DevpushError):
    """Stored ciphertext does not decrypt with the current secret key (the operator's to
    fix: a 500)."""

    http_status = 500


def fernet_for(secret_key: str) -> Fernet:
    # HKDF with a fixed purpose string: the session key and this key never coincide.
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"devpush env-vars v1").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(raw))


def encrypt_mapping(fernet: Fernet, values: dict[str, str]) -> str:
    return fernet.encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt_mapping(fernet: Fernet, token: str) -> dict[str, str]:
    try:
        data = json.loads(fernet.decrypt(token.encode()))
    except InvalidToken as exc:
        raise DecryptionError("environment variables do not decrypt: secret key changed?") from exc
    return {str(k): str(v) for k, v in data.items()}
