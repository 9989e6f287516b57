"""``devpush drains list|add|remove|test PROJECT``: a project's log drains.

A drain forwards the project's log lines to the team's own log service: ``https``
(signed NDJSON), ``syslog`` (``syslog://host:port`` or ``syslog+tls://host:port``) or
``otlp`` (an OTLP/HTTP base URL). An https drain's signing secret is printed once.
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
drains_app = typer.Typer(
    help="Log drains of a project: HTTPS, syslog, OpenTelemetry.", no_args_is_help=True
)
# Repeats the server's choices on purpose: the CLI must not import the server.
KINDS = ("https", "syslog", "otlp")
SOURCES = ("stdout", "stderr", "request")


def _filters(drain: dict[str, Any]) -> str:
    parts = [drain["environment"] or "all environments", ",".join(drain["sources"])]
    if drain["min_level"]:
        parts.append(f"{drain['min_level']}+")
    return "; ".join(parts)


def _last(drain: dict[str, Any]) -> str:
    if drain["status"] == "failing":
        return f"failing: {drain['last_error']}"
    return drain["last_delivery_at"] or "never"


@drains_app.command("list")
def list_drains(project: ProjectArg) -> None:
    """The project's drains and their delivery status."""
    drains = list_items(f"/projects/{project}/drains", none="No log drains.")
    if not drains:
        return
    table = Table("id", "kind", "url", "lines", "last delivery", "behind", "sent")
    for drain in drains:
        behind = drain["lines_behind"]
        table.add_row(
            safe(drain["id"]),
            safe(drain["kind"]),
            safe(drain["url"]),
            safe(_filters(drain)),
            safe(_last(drain)),
            safe("-" if behind is None else str(behind)),
            safe(str(drain["delivered_lines"])),
        )
    console.print(table)


@drains_app.command("add")
def add(
    project: ProjectArg,
    kind: Annotated[str, typer.Argument(help="https, syslog or otlp")],
    url: Annotated[str, typer.Argument(help="https://…, syslog+tls://host:port, …")],
    environment: Annotated[
        str | None, typer.Option(help="Only production or only preview lines")
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", help="stdout, stderr or request (repeat; default: all)"),
    ] = None,
    min_level: Annotated[
        str | None, typer.Option(help="The lowest level sent: debug, info, warning, error")
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option("--header", help="'Name: value' sent with each request (repeat)"),
    ] = None,
) -> None:
    """Add a drain; an https drain's signing secret is printed once."""
    if kind not in KINDS:
        raise fail(f"the kind must be one of {', '.join(KINDS)}")
    headers: dict[str, str] = {}
    for line in header or []:
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise fail(f"--header {line!r} is not 'Name: value'")
        headers[name.strip()] = value.strip()
    body: dict[str, Any] = {
        "kind": kind,
        "url": url,
        "environment": environment,
        "sources": list(source) if source else list(SOURCES),
        "min_level": min_level,
        "headers": headers,
    }
    drain = call("POST", f"/projects/{project}/drains", json=body)
    print_added(drain, noun="drain", detail=_filters(drain))


add_remove_and_test(
    drains_app,
    collection="drains",
    noun="drain",
    remove_help="Remove a drain.",
    test_help="Send a test line now and say whether the receiver took it.",
)


def register(app: typer.Typer) -> None:
    app.add_typer(drains_app, name="drains")
