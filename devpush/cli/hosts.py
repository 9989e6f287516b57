"""``devpush hosts``: the swarm's hosts with their state, labels, runners, CPU and memory;
``devpush hosts label|unlabel|drain|activate HOST``: an admin's changes to one host."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.console import Console
from rich.table import Table

from devpush.cli.client import ApiError, call, fail, logged_in_client
from devpush.cli.projects import key_values
from devpush.cli.terminal import safe
from devpush.units import human_bytes

console = Console()
hosts_app = typer.Typer(
    help="The servers of a swarm-mode install (admins only).", invoke_without_command=True
)
HostArg = Annotated[str, typer.Argument(help="The host's name, node id or id prefix")]


def labels_text(labels: dict[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(labels.items())) or "—"


@hosts_app.callback()
def hosts(ctx: typer.Context) -> None:
    """The servers of a swarm-mode install (admins only)."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        with logged_in_client() as client:
            found: list[dict[str, Any]] = client.get("/hosts")
    except ApiError as exc:
        raise fail(str(exc)) from exc
    table = Table(
        "host", "id", "address", "role", "state", "availability", "labels", "runners", "CPUs",
        "memory",
    )  # fmt: skip
    for host in found:
        table.add_row(
            safe(host["hostname"]),
            safe(host["id"][:12]),
            safe(host["address"]),
            safe(host["role"]),
            safe(host["state"]),
            safe(host["availability"]),
            safe(labels_text(host["labels"])),
            safe(str(host["runners"])),
            safe(f"{host['cpus']:g}"),
            safe(human_bytes(host["memory_bytes"])),
        )
    console.print(table)


def _change(host: str, body: dict[str, Any]) -> dict[str, Any]:
    changed: dict[str, Any] = call("PATCH", f"/hosts/{quote(host, safe='')}", json=body)
    console.print(
        safe(
            f"{changed['hostname']}: {changed['availability']}, "
            f"labels {labels_text(changed['labels'])}"
        )
    )
    return changed


@hosts_app.command("label")
def label(
    host: HostArg,
    labels: Annotated[list[str], typer.Argument(help="key=value (repeat), e.g. zone=eu")],
) -> None:
    """Set labels on a host (placement reads them)."""
    _change(host, {"labels": key_values(labels, usage="a label is key=value, like zone=eu")})


@hosts_app.command("unlabel")
def unlabel(
    host: HostArg, keys: Annotated[list[str], typer.Argument(help="Label keys to remove")]
) -> None:
    """Remove labels from a host."""
    _change(host, {"labels": dict.fromkeys(keys)})


@hosts_app.command("drain")
def drain(host: HostArg) -> None:
    """Move a host's runners to the other hosts and send it no new one."""
    if _change(host, {"availability": "drain"})["availability"] == "pause":
        console.print("Its deployments are moving to other hosts; it shows drain once they have.")


@hosts_app.command("activate")
def activate(host: HostArg) -> None:
    """Let a drained or paused host take runners again."""
    _change(host, {"availability": "active"})


def register(app: typer.Typer) -> None:
    app.add_typer(hosts_app, name="hosts")
