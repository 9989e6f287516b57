"""``devpush metrics PROJECT [--deployment ID]``: a running deployment's CPU, memory and network."""

from __future__ import annotations

from typing import Annotated, Any, Final

import typer
from rich.console import Console
from rich.table import Table

from devpush.cli.client import ApiClient, ApiError, fail, logged_in_client
from devpush.cli.projects import ProjectArg
from devpush.cli.terminal import safe
from devpush.units import human_bytes

console = Console()

#: The newest samples the table shows (the API answers the whole range).
TABLE_ROWS: Final = 10


def cores(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def serving_deployment(client: ApiClient, project: str) -> str:
    """The project's running deployment: production's, else the newest running one."""
    detail = client.get(f"/projects/{project}")
    production = {env["id"] for env in detail["environments"] if env["kind"] == "production"}
    listed = client.get(f"/projects/{project}/deployments", params={"limit": 100})
    running = [d for d in listed if d["status"] == "running"]
    if not running:
        raise ApiError(f"{project} has no running deployment: name one with --deployment")
    chosen = next((d for d in running if d["environment_id"] in production), running[0])
    return str(chosen["id"])


def metrics(
    project: ProjectArg,
    deployment: Annotated[
        str | None,
        typer.Option(help="Deployment id. Default: production's running deployment"),
    ] = None,
    range_: Annotated[
        str,
        typer.Option("--range", help="15m, 1h, 6h or 24h (samples of a longer range are averaged)"),
    ] = "1h",
) -> None:
    """A running deployment's latest CPU, memory and network figures, and its newest samples."""
    try:
        with logged_in_client() as client:
            deployment_id = deployment or serving_deployment(client, project)
            found = client.get(f"/deployments/{deployment_id}/metrics", params={"range": range_})
    except ApiError as exc:
        raise fail(str(exc)) from exc
    samples: list[dict[str, Any]] = found["samples"]
    console.print(
        safe("Deployment ")
        + safe(found["deployment_id"], "bold")
        + safe(f" ({found['status']}), last {found['range']}: {len(samples)} samples")
    )
    if not samples:
        every = f"{found['interval_seconds']:g} s"
        console.print(safe(f"No samples yet: running deployments are sampled every {every}."))
        return
    latest = samples[-1]
    known_cpu = next((s["cpu"] for s in reversed(samples) if s["cpu"] is not None), None)
    figures = [
        f"CPU {cores(known_cpu)} cores",
        f"memory {human_bytes(latest['memory_bytes'])}",
        f"received {human_bytes(latest['rx_bytes'])}",
        f"sent {human_bytes(latest['tx_bytes'])}",
    ]
    console.print(safe(" · ".join(figures)))
    table = Table("time (UTC)", "CPU (cores)", "memory", "received", "sent")
    for sample in samples[-TABLE_ROWS:]:
        table.add_row(
            safe(str(sample["at"])[:19].replace("T", " ")),
            safe(cores(sample["cpu"])),
            safe(human_bytes(sample["memory_bytes"])),
            safe(human_bytes(sample["rx_bytes"])),
            safe(human_bytes(sample["tx_bytes"])),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(metrics)
