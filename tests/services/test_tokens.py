from sqlalchemy import select
from sqlalchemy.orm import Session

from devpush.models import ApiToken
from devpush.services.tokens import create_token, list_tokens, revoke_token, user_for_token
from devpush.services.users import create_user


def test_token_lifecycle(session: Session) -> None:
    ada = create_user(session, email="ada@example.org", password="long enough")
    bob = create_user(session, email="bob@example.org", password="long enough")
    token, plaintext = create_token(session, user=ada, name="laptop")
    stored = session.scalars(select(ApiToken.token_hash)).all()
    assert plaintext not in stored
    assert user_for_token(session, plaintext=plaintext) is ada
    assert token.last_used_at is not None
    assert user_for_token(session, plaintext=plaintext + "x") is None
    assert [t.name for t in list_tokens(session, user_id=ada.id)] == ["laptop"]
    # Bob cannot revoke Ada's token.
    assert not revoke_token(session, user_id=bob.id, token_id=token.id)
    assert revoke_token(session, user_id=ada.id, token_id=token.id)
    assert user_for_token(session, plaintext=plaintext) is None
