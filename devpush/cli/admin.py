"""``devpush admin``: server-side commands, run where the database is (no token needed).

They need the server's packages (the ``server`` extra); the rest of the CLI doesn't, so
they are imported when a command runs, and a laptop install says what is missing.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from devpush.cli.client import fail
from devpush.cli.terminal import safe

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

console = Console()
admin = typer.Typer(help="Server administration (reads DEVPUSH_* settings).", no_args_is_help=True)

SERVER_MISSING = (
    "`devpush admin` runs on the server and needs its packages ({missing} is missing): "
    "install devpush[server], e.g. `uv tool install 'devpush[server]'`"
)


def server_module(name: str) -> ModuleType:
    """``app.<name>``, or a clear error when the server extra is not installed."""
    try:
        return importlib.import_module(f"devpush.{name}")
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if not missing or missing == "devpush":
            raise  # our own bug, not a missing extra
        raise fail(SERVER_MISSING.format(missing=missing)) from exc


@contextmanager
def server_session() -> Iterator[Session]:
    """A session on the server's database (DEVPUSH_* settings), committed when the block
    ends without an error; the engine is disposed either way."""
    config, db = server_module("core.config"), server_module("core.db")
    engine = db.create_db_engine(config.get_settings().database_url)
    try:
        with db.session_scope(db.session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


@admin.command()
def migrate() -> None:
    """Bring the database to the newest schema."""
    config, migrate_ = server_module("core.config"), server_module("core.migrate")
    migrate_.upgrade_to_head(config.get_settings().database_url)
    console.print("Database schema is up to date.")


def _password_option(envvar: str) -> Any:
    """A new user's password, or ``envvar`` (install scripts set it, which keeps the
    password out of the process list)."""
    return typer.Option(help="At least 8 characters", envvar=envvar)


@admin.command("ensure-user")
def ensure_user(
    email: Annotated[str, typer.Option(help="E-mail of the first user")],
    password: Annotated[str, _password_option("DEVPUSH_ADMIN_PASSWORD")],
    team: Annotated[str, typer.Option(help="Name of the user's team")] = "Default",
) -> None:
    """Create the first user and their team if the server has no user yet (idempotent)."""
    users = server_module("services.users")
    try:
        with server_session() as session:
            result = users.ensure_first_user(
                session, email=email, password=password, team_name=team
            )
    except ValueError as exc:
        raise fail(str(exc)) from exc
    outcome = users.FirstUserOutcome
    messages = {
        outcome.CREATED: f"Created user {email} in team {team!r}.",
        outcome.ALREADY_EXISTS: f"User {email} already exists; nothing changed.",
        outcome.OTHER_USERS_EXIST: "Users already exist; no first user created.",
    }
    console.print(safe(messages[result.outcome]))


@admin.command("add-user")
def add_user(
    email: Annotated[str, typer.Option(help="E-mail of the new user")],
    password: Annotated[str, _password_option("DEVPUSH_USER_PASSWORD")],
    name: Annotated[str, typer.Option(help="Display name")] = "",
    team: Annotated[
        str | None, typer.Option(help="Slug of an existing team; default: a team of their own")
    ] = None,
    role: Annotated[str, typer.Option(help="Role in --team: member or owner")] = "member",
    is_admin: Annotated[bool, typer.Option("--admin", help="May add users too")] = False,
) -> None:
    """Add a user to the server, in an existing team or a team of their own."""
    users, models = server_module("services.users"), server_module("models")
    from sqlalchemy import select

    try:
        with server_session() as session:
            team_row = None
            if team is not None:
                team_row = session.scalar(select(models.Team).where(models.Team.slug == team))
                if team_row is None:
                    raise fail(f"no team with the slug {team!r}")
            user, team_row = users.add_user(
                session,
                email=email,
                password=password,
                name=name,
                team=team_row,
                role=models.TeamRole(role),
                admin=is_admin,
            )
            message = f"Added {user.email} to team {team_row.name!r} ({team_row.slug})."
    except users.UserExistsError as exc:
        raise fail(f"a user with the e-mail {email} exists") from exc
    except ValueError as exc:
        raise fail(str(exc)) from exc
    console.print(safe(message))


def register(app: typer.Typer) -> None:
    app.add_typer(admin, name="admin")
