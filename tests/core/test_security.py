from devpush.core.security import (
    CSRF_SESSION_KEY,
    TOKEN_PREFIX,
    csrf_matches,
    csrf_token_for,
    generate_token,
    hash_password,
    hash_token,
    verify_password,
)


def test_passwords_are_argon2_hashed_and_verified() -> None:
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert verify_password(hashed, "correct horse")
    assert not verify_password(hashed, "wrong horse")
    assert not verify_password("not-a-hash", "correct horse")


def test_tokens_are_random_and_only_their_hash_is_kept() -> None:
    first, second = generate_token(), generate_token()
    assert first.plaintext != second.plaintext
    assert first.plaintext.startswith(TOKEN_PREFIX)
    assert len(first.plaintext) > 40
    assert first.token_hash == hash_token(first.plaintext)
    assert first.plaintext not in first.token_hash
    assert first.plaintext.startswith(first.prefix)


def test_csrf_token_is_stable_per_session_and_checked_exactly() -> None:
    session: dict[str, object] = {}
    token = csrf_token_for(session)
    assert session[CSRF_SESSION_KEY] == token
    assert csrf_token_for(session) == token
    assert csrf_matches(session, token)
    assert not csrf_matches(session, token + "x")
    assert not csrf_matches(session, None)
    assert not csrf_matches({}, token)
