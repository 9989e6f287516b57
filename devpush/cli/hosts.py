"""``devpush hosts``: the swarm's hosts with their state, labels, runners, CPU and memory."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from devpush.cli.client import ApiError, fail, logged_in_client
from devpush.cli.terminal import safe
from devpush.units import human_bytes

console = Console()


def labels_text(labels: dict[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(labels.items())) or "—"


def hosts() -> None:
    """The servers of a swarm-mode install (admins only)."""
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


def register(app: typer.Typer) -> None:
    app.command()(hosts)
