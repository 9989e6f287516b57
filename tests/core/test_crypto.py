import pytest

from devpush.core.crypto import DecryptionError, decrypt_mapping, encrypt_mapping, fernet_for


def test_env_vars_round_trip_and_are_not_stored_in_clear() -> None:
    fernet = fernet_for("secret-a")
    token = encrypt_mapping(fernet, {"API_KEY": "hunter2", "É": "ü"})
    assert "hunter2" not in token
    assert decrypt_mapping(fernet, token) == {"API_KEY": "hunter2", "É": "ü"}


def test_a_changed_secret_key_is_a_clear_error() -> None:
    token = encrypt_mapping(fernet_for("secret-a"), {"A": "1"})
    with pytest.raises(DecryptionError, match="secret key"):
        decrypt_mapping(fernet_for("secret-b"), token)
