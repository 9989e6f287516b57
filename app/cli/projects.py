"""``devpush projects``: the projects of your teams."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from app.cli.client import ApiError, fail, logged_in_client
from app.cli.terminal import safe

console = Console()


def projects() -> None:
    """List the projects of every team you belong to."""
    try:
        with logged_in_client() as client:
            items = client.get("/projects")
    except ApiError as exc:
        raise fail(str(exc)) from exc
    if not items:
        console.print("No projects yet.")
        return
    table = Table("slug", "name", "default branch", "repository", "id")
    for item in items:
        cells = ("slug", "name", "default_branch", "repo_url", "id")
        table.add_row(*(safe(item[cell]) for cell in cells))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(projects)
