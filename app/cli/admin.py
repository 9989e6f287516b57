"""``devpush admin``: server-side commands, run where the database is (no token needed)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from app.core.config import get_settings
from app.core.db import create_db_engine, session_factory, session_scope
from app.core.migrate import upgrade_to_head
from app.services.users import FirstUserOutcome, ensure_first_user

console = Console()
admin = typer.Typer(help="Server administration (reads DEVPUSH_* settings).", no_args_is_help=True)


@admin.command()
def migrate() -> None:
    """Bring the database to the newest schema."""
    settings = get_settings()
    upgrade_to_head(settings.database_url)
    console.print("Database schema is up to date.")


@admin.command("ensure-user")
def ensure_user(
    email: Annotated[str, typer.Option(help="E-mail of the first user")],
    password: Annotated[
        str, typer.Option(help="At least 8 characters", envvar="DEVPUSH_ADMIN_PASSWORD")
    ],
    team: Annotated[str, typer.Option(help="Name of the user's team")] = "Default",
) -> None:
    """Create the first user and their team if the server has no user yet (idempotent)."""
    engine = create_db_engine(get_settings().database_url)
    try:
        with session_scope(session_factory(engine)) as session:
            result = ensure_first_user(session, email=email, password=password, team_name=team)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    messages = {
        FirstUserOutcome.CREATED: f"Created user {email} in team {team!r}.",
        FirstUserOutcome.ALREADY_EXISTS: f"User {email} already exists; nothing changed.",
        FirstUserOutcome.OTHER_USERS_EXIST: "Users already exist; no first user created.",
    }
    console.print(messages[result.outcome])


def register(app: typer.Typer) -> None:
    app.add_typer(admin, name="admin")
