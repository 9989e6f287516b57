"""``devpush webhook show|rotate PROJECT`` and ``devpush deliveries PROJECT``.

``rotate`` creates the webhook or gives it a new secret, and prints the secret: the one
time it is shown. ``deliveries`` lists the webhook's calls, newest first (``--json``: the
API's objects, one per line).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from devpush.cli.client import call, fail
from devpush.cli.projects import ProjectArg
from devpush.cli.terminal import safe

console = Console()
webhook_app = typer.Typer(help="A project's webhook: its URL and secret.", no_args_is_help=True)
_COLUMNS = ("received", "forge", "event", "branch", "commit", "result", "reason", "deployment")


@webhook_app.command("show")
def show(project: ProjectArg) -> None:
    """The webhook's URL (the secret is shown only by `rotate`)."""
    url = call("GET", f"/projects/{project}/webhook")["url"]
    if url is None:
        raise fail(f"{project} has no webhook yet: `devpush webhook rotate {project}` creates it")
    console.print(safe(url))


@webhook_app.command("rotate")
def rotate(
    project: ProjectArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Rotate without asking")] = False,
) -> None:
    """Create the webhook, or give it a new secret (owners only); prints the secret once."""
    if call("GET", f"/projects/{project}/webhook")["url"] is not None and not yes:
        typer.confirm(
            "The current secret stops working at once; paste the new one into the forge. Rotate?",
            abort=True,
        )
    created = call("POST", f"/projects/{project}/webhook")
    table = Table(show_header=False)
    table.add_row("URL", safe(created["url"]))
    table.add_row("Secret", safe(created["secret"]))
    console.print(table)
    console.print(safe("Copy the secret now: it is not shown again."))


def deliveries(
    project: ProjectArg,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many, newest first")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """The webhook's deliveries, newest first: what each call did, and why."""
    rows = call("GET", f"/projects/{project}/deliveries", params={"limit": limit})
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    if not rows:
        console.print(safe(f"No deliveries for {project} yet."))
        return
    table = Table(
        "received", "forge", "event", "branch", "commit", "result", "reason", "deployment"
    )
    for row in rows:
        table.add_row(
            safe(row["received_at"][:19].replace("T", " ")),
            safe(row["forge"]),
            safe(row["event"] or "-"),
            safe(row["branch"] or "-"),
            safe((row["commit"] or "-")[:8]),
            safe(row["result"]),
            safe(row["reason"]),
            safe(row["deployment_id"] or "-"),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(webhook_app, name="webhook")
    app.command("deliveries")(deliveries)
