"""``devpush members list|add|remove``: the members of a team (owners add and remove)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from devpush.cli.client import ApiClient, ApiError, fail, logged_in_client
from devpush.cli.terminal import safe

console = Console()
members_app = typer.Typer(help="Members of your teams: list, add, remove.", no_args_is_help=True)

TeamOption = Annotated[
    str | None, typer.Option("--team", "-t", help="Team slug (needed if you are in several)")
]


def _team(client: ApiClient, team: str | None) -> str:
    if team is not None:
        return team
    teams = client.get("/me")["teams"]
    if len(teams) != 1:
        raise ApiError("you belong to several teams: pass --team SLUG")
    return str(teams[0]["slug"])


def _with_team(team: str | None, action: Any) -> Any:
    try:
        with logged_in_client() as client:
            return action(client, _team(client, team))
    except ApiError as exc:
        raise fail(str(exc)) from exc


def _user_id(client: ApiClient, team: str, email: str) -> int:
    for member in client.get(f"/teams/{team}/members"):
        if member["email"] == email.strip().lower():
            return int(member["user_id"])
    raise ApiError(f"{email} is not a member of {team}")


@members_app.command("list")
def list_members(team: TeamOption = None) -> None:
    """The team's members and their roles."""
    members = _with_team(team, lambda c, t: c.get(f"/teams/{t}/members"))
    table = Table("e-mail", "name", "role")
    for member in members:
        table.add_row(safe(member["email"]), safe(member["name"]), safe(member["role"]))
    console.print(table)


@members_app.command("add")
def add_member(
    email: Annotated[str, typer.Argument(help="E-mail of a user of this server")],
    role: Annotated[str, typer.Option(help="member or owner")] = "member",
    team: TeamOption = None,
) -> None:
    """Add an existing user to the team (owners only)."""
    added = _with_team(
        team, lambda c, t: c.post(f"/teams/{t}/members", json={"email": email, "role": role})
    )
    console.print(safe(f"Added {added['email']} as {added['role']}."))


@members_app.command("remove")
def remove_member(
    email: Annotated[str, typer.Argument(help="E-mail of the member")],
    team: TeamOption = None,
) -> None:
    """Remove a member from the team; their web sign-ins end (owners only)."""

    def remove(client: ApiClient, slug: str) -> None:
        client.request("DELETE", f"/teams/{slug}/members/{_user_id(client, slug, email)}")

    _with_team(team, remove)
    console.print(safe(f"Removed {email}."))


def register(app: typer.Typer) -> None:
    app.add_typer(members_app, name="members")
