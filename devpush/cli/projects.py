"""``devpush projects``: list and create the projects of your teams.

One shape for every group, ``devpush <noun> <verb>`` (``devpush projects list``, as with
``fly apps list``); ``devpush projects`` alone lists too. Other modules may add verbs to
:data:`projects_app`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from devpush.cli.client import ApiError, fail, logged_in_client
from devpush.cli.terminal import safe

console = Console()

#: The project a command acts on, by slug or id (``devpush projects list`` shows both).
ProjectArg = Annotated[str, typer.Argument(help="Project slug or id")]

projects_app = typer.Typer(help="The projects of your teams: list, create.", no_args_is_help=False)


@projects_app.callback(invoke_without_command=True)
def projects(ctx: typer.Context) -> None:
    """The projects of your teams (``devpush projects`` alone lists them)."""
    if ctx.invoked_subcommand is None:
        list_projects()


@projects_app.command("list")
def list_projects() -> None:
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


def key_values(pairs: list[str], *, usage: str) -> dict[str, str]:
    """``KEY=VALUE`` arguments as a dict; anything else fails with ``usage, got ...``."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise fail(f"{usage}, got {pair!r}")
        values[key] = value
    return values


@projects_app.command("create")
def create_project(
    name: Annotated[str, typer.Option(help="Project name")],
    repo: Annotated[
        str, typer.Option(help="https:// or ssh URL of a git repository, or a local path")
    ],
    start_command: Annotated[str, typer.Option(help="Starts the app; it listens on $PORT")],
    build_command: Annotated[str, typer.Option()] = "",
    pre_deploy_command: Annotated[str, typer.Option()] = "",
    branch: Annotated[str, typer.Option(help="Production branch")] = "main",
    root_directory: Annotated[str, typer.Option(help="Sub-directory holding the app")] = "",
    image: Annotated[str | None, typer.Option(help="Runner image (default: the server's)")] = None,
    port: Annotated[int, typer.Option()] = 8000,
    slug: Annotated[str, typer.Option(help="Default: made from the name")] = "",
    team: Annotated[str | None, typer.Option(help="Team slug, if you are in several")] = None,
    env: Annotated[list[str] | None, typer.Option(help="KEY=VALUE, repeatable")] = None,
    git_token_file: Annotated[
        Path | None,
        typer.Option(help="A private https repository's access token, read from this file"),
    ] = None,
) -> None:
    """Create a project; the server checks the repository is reachable first."""
    body: dict[str, Any] = {
        "name": name,
        "slug": slug,
        "repo_url": repo,
        "default_branch": branch,
        "root_directory": root_directory,
        "build_command": build_command,
        "pre_deploy_command": pre_deploy_command,
        "start_command": start_command,
        "port": port,
        "env_vars": key_values(env or [], usage="--env takes KEY=VALUE"),
        "team": team,
    }
    if image:
        body["runner_image"] = image
    if git_token_file is not None:  # a file, never an argument: argv is visible to all
        body["git_token"] = git_token_file.read_text().strip()
    try:
        with logged_in_client() as client:
            created = client.post("/projects", json=body)
    except ApiError as exc:
        raise fail(f"project not created: {exc}") from exc
    slug = created["slug"]
    if repo.startswith("ssh://") or ("@" in repo and not repo.startswith("https://")):
        console.print(
            safe(f"Created {slug}. Next: `devpush git deploy-key {slug}`, add the key to the ")
            + safe(f"repository's deploy keys, then `devpush git check {slug}`.")
        )
        return
    console.print(
        safe("Created ")
        + safe(slug, "bold")
        + safe(f" ({created['id']}); deploy it with ")
        + safe(f"devpush deploy {slug}", "bold")
    )


def register(app: typer.Typer) -> None:
    app.add_typer(projects_app, name="projects")
