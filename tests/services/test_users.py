import pytest
from sqlalchemy.orm import Session

from devpush.services.teams import teams_for_user
from devpush.services.users import (
    FirstUserOutcome,
    UserExistsError,
    authenticate,
    create_user,
    ensure_first_user,
)

pytestmark = pytest.mark.both_databases


def test_create_and_authenticate(session: Session) -> None:
    user = create_user(session, email=" Ada@Example.org ", password="long enough")
    assert user.email == "ada@example.org"
    assert authenticate(session, email="ADA@example.org", password="long enough") is user
    assert authenticate(session, email="ada@example.org", password="wrong password") is None
    assert authenticate(session, email="nobody@example.org", password="long enough") is None


def test_duplicate_email_and_short_password_are_refused(session: Session) -> None:
    create_user(session, email="ada@example.org", password="long enough")
    with pytest.raises(UserExistsError):
        create_user(session, email="ADA@example.org", password="long enough")
    with pytest.raises(ValueError, match="8 characters"):
        create_user(session, email="bob@example.org", password="short")


def test_ensure_first_user_is_idempotent(session: Session) -> None:
    first = ensure_first_user(session, email="a@example.org", password="password1", team_name="Ops")
    assert first.outcome is FirstUserOutcome.CREATED
    assert first.user is not None
    assert [t.name for t in teams_for_user(session, user_id=first.user.id)] == ["Ops"]
    again = ensure_first_user(session, email="a@example.org", password="other-pass", team_name="X")
    assert again.outcome is FirstUserOutcome.ALREADY_EXISTS
    # The password is not reset by a second run.
    assert authenticate(session, email="a@example.org", password="password1") is not None
    other = ensure_first_user(session, email="b@example.org", password="password2", team_name="Y")
    assert other.outcome is FirstUserOutcome.OTHER_USERS_EXIST
    assert authenticate(session, email="b@example.org", password="password2") is None
