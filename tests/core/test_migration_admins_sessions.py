"""Revision 23e006489724 (admins, server-side sessions, login failures) up and down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from devpush.core.db import create_db_engine
from devpush.core.migrate import alembic_config, upgrade_to_head

BEFORE = "e0b3cc1cf007"


def _tables(url: str) -> set[str]:
    engine = create_db_engine(url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    return tables


def test_the_first_user_becomes_admin_and_downgrade_keeps_users(any_db_url: str) -> None:
    command.upgrade(alembic_config(any_db_url), BEFORE)
    engine = create_db_engine(any_db_url)
    with engine.begin() as conn:
        for n, email in enumerate(["first@example.org", "second@example.org"], start=1):
            conn.execute(
                text(
                    "INSERT INTO users (id, email, name, password_hash, created_at) "
                    "VALUES (:id, :email, '', 'x', CURRENT_TIMESTAMP)"
                ),
                {"id": n, "email": email},
            )
    engine.dispose()

    upgrade_to_head(any_db_url)
    assert {"user_sessions", "login_failures"} <= _tables(any_db_url)
    engine = create_db_engine(any_db_url)
    with engine.connect() as conn:
        admins = conn.execute(text("SELECT email, is_admin FROM users ORDER BY id")).all()
    engine.dispose()
    assert [(email, bool(flag)) for email, flag in admins] == [
        ("first@example.org", True),
        ("second@example.org", False),
    ]

    command.downgrade(alembic_config(any_db_url), BEFORE)
    assert not {"user_sessions", "login_failures"} & _tables(any_db_url)
    engine = create_db_engine(any_db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM users")).scalar() == 2
    engine.dispose()
    upgrade_to_head(any_db_url)
