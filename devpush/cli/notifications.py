"""``devpush notifications list|add|remove|test PROJECT``: a project's deploy notifications.

A channel is a signed webhook, a Slack incoming webhook or an e-mail address, told when a
deployment fails (``--on-failure``, the default) or starts running (``--on-success``). A
webhook's signing secret is printed once, when it is added.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from devpush.cli.client import call, fail
from devpush.cli.project_items import add_remove_and_test, list_items, print_added
from devpush.cli.projects import ProjectArg
from devpush.cli.terminal import safe

console = Console()
notifications_app = typer.Typer(
    help="Deploy notifications of a project: webhooks, Slack, e-mail.", no_args_is_help=True
)
# Repeats the server's kinds on purpose: the CLI must not import the server.
KINDS = ("webhook", "slack", "email")


def _when(channel: dict[str, Any]) -> str:
    return " and ".join(
        name
        for name, on in (("failure", channel["on_failure"]), ("success", channel["on_success"]))
        if on
    )


@notifications_app.command("list")
def list_channels(project: ProjectArg) -> None:
    """The project's channels and each one's newest attempt."""
    channels = list_items(f"/projects/{project}/notifications", none="No notification channels.")
    if not channels:
        return
    table = Table("id", "kind", "target", "on", "last attempt")
    for channel in channels:
        attempts = call("GET", f"/projects/{project}/notifications/{channel['id']}/attempts")
        last = "-"
        if attempts:
            newest = attempts[0]
            last = "sent" if newest["ok"] else f"failed: {newest['error']}"
        table.add_row(
            safe(channel["id"]),
            safe(channel["kind"]),
            safe(channel["target"]),
            safe(_when(channel)),
            safe(last),
        )
    console.print(table)


@notifications_app.command("add")
def add(
    project: ProjectArg,
    kind: Annotated[str, typer.Argument(help="webhook, slack or email")],
    target: Annotated[str, typer.Argument(help="An http(s) URL, or an e-mail address")],
    on_failure: Annotated[
        bool, typer.Option("--on-failure/--no-on-failure", help="When a deployment fails")
    ] = True,
    on_success: Annotated[
        bool, typer.Option("--on-success/--no-on-success", help="When one starts running")
    ] = False,
) -> None:
    """Add a channel (owners only); a webhook's signing secret is printed once."""
    if kind not in KINDS:
        raise fail(f"the kind must be one of {', '.join(KINDS)}")
    body = {"kind": kind, "target": target, "on_failure": on_failure, "on_success": on_success}
    channel = call("POST", f"/projects/{project}/notifications", json=body)
    print_added(channel, noun="channel", detail=_when(channel))


add_remove_and_test(
    notifications_app,
    collection="notifications",
    noun="channel",
    remove_help="Remove a channel (owners only).",
    test_help="Send a test message now (owners only) and print what the receiver answered.",
)


def register(app: typer.Typer) -> None:
    app.add_typer(notifications_app, name="notifications")
