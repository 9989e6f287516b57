"""``devpush rollback PROJECT [DEPLOYMENT]``: run an earlier deployment's kept build again."""

from __future__ import annotations

from typing import Annotated

import typer

from devpush.cli.client import ApiError, fail, logged_in_client
from devpush.cli.deploy import console, settle
from devpush.cli.projects import ProjectArg
from devpush.cli.terminal import safe


def rollback(
    project: ProjectArg,
    deployment: Annotated[
        str | None,
        typer.Argument(
            help="Deployment id to roll back to. Default: production's newest kept build"
            " before the one serving"
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for running")] = 900.0,
    interval: Annotated[float, typer.Option(help="Seconds between status checks")] = 1.0,
    wait: Annotated[bool, typer.Option(help="Follow the rollback until it settles")] = True,
) -> None:
    """Roll back without a rebuild; pauses the environment's auto-deploys (a deploy or
    ``devpush resume`` lifts it). Exits 0 once it is running."""
    try:
        with logged_in_client() as client:
            created = client.post(
                f"/projects/{project}/rollback", json={"deployment_id": deployment}
            )
            commit = (created.get("commit_sha") or "")[:12]
            console.print(
                safe("Rollback ")
                + safe(created["id"], "bold")
                + safe(f" to deployment {created['rollback_of_id']}")
                + safe(f" (commit {commit})" if commit else "")
                + safe(": queued")
            )
            console.print(safe("Auto-deploys of its environment are paused until you deploy."))
            settle(client, created, wait=wait, timeout=timeout, interval=interval)
    except ApiError as exc:
        raise fail(str(exc)) from exc


def resume(
    project: ProjectArg,
    environment: Annotated[str, typer.Argument(help="Environment name or id")] = "production",
) -> None:
    """Resume an environment's auto-deploys (paused by a rollback)."""
    try:
        with logged_in_client() as client:
            client.post(f"/projects/{project}/environments/{environment}/resume")
    except ApiError as exc:
        raise fail(str(exc)) from exc
    console.print(safe(f"Auto-deploys of {environment} resumed."))


def register(app: typer.Typer) -> None:
    app.command()(rollback)
    app.command()(resume)
