"""``devpush deploy PROJECT``: queue a deployment and follow it until it runs or fails."""

from __future__ import annotations

import time
from typing import Annotated, Any, Final

import typer
from rich.console import Console
from rich.text import Text

from devpush.cli.client import ApiClient, ApiError, fail, logged_in_client
from devpush.cli.projects import ProjectArg
from devpush.cli.terminal import coloured, safe

console = Console()

#: Exit code when the deployment did not reach ``running`` in time.
EXIT_TIMEOUT = 2
# The API's status strings (devpush.models.DeploymentStatus); plain strings keep the CLI free of
# the server's packages. A status the CLI doesn't know yet is followed until the timeout.
RUNNING: Final = "running"
FINAL: Final = frozenset({"failed", "stopped", "superseded"})


def _describe(deployment: dict[str, Any]) -> str:
    status = deployment["status"]
    commit = (deployment.get("commit_sha") or "")[:8]
    return f"{status}" + (f" ({commit})" if commit else "")


def follow(
    client: ApiClient, deployment: dict[str, Any], *, timeout: float, interval: float
) -> dict[str, Any]:
    """Poll the deployment until it runs or ends, printing each status change; its last state.

    Exits with :data:`EXIT_TIMEOUT` when it is still moving after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    last = deployment["status"]
    with console.status(safe(f"Deployment is {last}…")) as spinner:
        while True:
            status = str(deployment["status"])
            if status != last:
                console.print(safe(f"  → {_describe(deployment)}"))
                spinner.update(safe(f"Deployment is {status}…"))
                last = status
            if status == RUNNING or status in FINAL:
                return deployment
            if time.monotonic() > deadline:
                raise fail(f"still {status} after {timeout:.0f}s", code=EXIT_TIMEOUT)
            time.sleep(interval)
            deployment = client.get(f"/deployments/{deployment['id']}")


def report(deployment: dict[str, Any]) -> None:
    """Print a settled deployment's addresses; fail with its error if it is not running."""
    status = str(deployment["status"])
    if status != RUNNING:
        detail = deployment.get("error") or ""
        if deployment.get("exit_code") is not None:
            detail += f" (exit code {deployment['exit_code']})"
        failure = deployment.get("failure") or {}
        for line in failure.get("lines") or ():
            # The step's last lines, as the deployment page shows them (colours only).
            console.print(coloured(str(line)))
        raise fail(f"deployment {status}: {detail.strip() or 'no details'}")
    console.print(Text("Running.", style="green"))
    for label, key in (("URL", "url"), ("Environment URL", "environment_url")):
        if deployment.get(key):
            console.print(safe(f"{label}: {deployment[key]}"))


def settle(
    client: ApiClient, deployment: dict[str, Any], *, wait: bool, timeout: float, interval: float
) -> None:
    """With ``wait``: follow the queued deployment until it settles, then say how it ended."""
    if wait:
        report(follow(client, deployment, timeout=timeout, interval=interval))


def deploy(
    project: ProjectArg,
    branch: Annotated[str | None, typer.Option(help="Default: the project default branch")] = None,
    commit: Annotated[
        str | None, typer.Option(help="That exact commit (full SHA) instead of the newest")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for running")] = 900.0,
    interval: Annotated[float, typer.Option(help="Seconds between status checks")] = 1.0,
    wait: Annotated[bool, typer.Option(help="Follow the deployment until it settles")] = True,
) -> None:
    """Deploy a branch; exits 0 once it is running, non-zero if it fails, stops or times out."""
    try:
        with logged_in_client() as client:
            body = {"branch": branch} | ({"commit": commit} if commit else {})
            deployment = client.post(f"/projects/{project}/deployments", json=body)
            console.print(
                safe("Deployment ")
                + safe(deployment["id"], "bold")
                + safe(f" of {deployment['branch']}: queued")
            )
            settle(client, deployment, wait=wait, timeout=timeout, interval=interval)
    except ApiError as exc:
        raise fail(str(exc)) from exc


def register(app: typer.Typer) -> None:
    app.command()(deploy)
