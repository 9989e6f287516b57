from sqlalchemy.orm import Session

from devpush.models import TeamRole
from devpush.services.teams import add_member, create_team, member_team, slugify, teams_for_user
from devpush.services.users import create_user


def test_slugs_are_unique_and_owner_is_a_member(session: Session) -> None:
    ada = create_user(session, email="ada@example.org", password="long enough")
    first = create_team(session, name="Web Team!", owner=ada)
    second = create_team(session, name="web team", owner=ada)
    assert (first.slug, second.slug) == ("web-team", "web-team-2")
    assert first.members[0].role is TeamRole.OWNER
    assert {t.id for t in teams_for_user(session, user_id=ada.id)} == {first.id, second.id}


def test_member_team_only_for_members(session: Session) -> None:
    ada = create_user(session, email="ada@example.org", password="long enough")
    bob = create_user(session, email="bob@example.org", password="long enough")
    team = create_team(session, name="Ada's", owner=ada)
    assert member_team(session, user_id=ada.id, team_id=team.id) is team
    assert member_team(session, user_id=bob.id, team_id=team.id) is None
    add_member(session, team=team, user=bob)
    assert member_team(session, user_id=bob.id, team_id=team.id) is team


def test_slugify() -> None:
    assert slugify("  Hello, World  ") == "hello-world"
    assert slugify("!!!") == "team"
