"""``devpush git show|deploy-key|set-token|unset-token|pin-host|check|poll PROJECT``.

How devpush reads a project's repository: an SSH deploy key (its public half is shown
to paste into the forge), the pinned host keys, or an HTTPS token (write-only: read
from a prompt or stdin, never an argument, so it stays out of the shell's history and
the process list).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from devpush.cli.client import call, fail
from devpush.cli.projects import ProjectArg
from devpush.cli.terminal import safe

console = Console()
git_app = typer.Typer(help="How devpush reads a project's repository.", no_args_is_help=True)


def _print(access: dict[str, Any]) -> None:
    console.print(safe(f"Repository: {access['repo_url']}"))
    console.print(safe(f"Access: {access['auth']}"))
    if access.get("deploy_key_public"):
        console.print(safe("Deploy key (add it to the repository's deploy keys, read-only):"))
        # soft_wrap: the key stays one line, so it can be copied whole.
        console.print(safe(access["deploy_key_public"]), soft_wrap=True)
    for key in access.get("host_keys") or ():
        console.print(safe(f"Host key: {key['host']} {key['key_type']} {key['fingerprint']}"))
    if access.get("has_token"):
        console.print(safe(f"Token: set (user name {access['token_username']})"))
    interval = access.get("poll_interval_seconds")
    console.print(safe(f"Poller: every {interval} s" if interval else "Poller: off"))


def show(project: ProjectArg) -> None:
    """Show the repository's access: deploy key, host keys, token (never the secret)."""
    _print(call("GET", f"/projects/{project}/git"))


def deploy_key(project: ProjectArg) -> None:
    """Make a new SSH deploy key (the previous one stops working) and print its public half."""
    made = call("POST", f"/projects/{project}/git/deploy-key")
    console.print(safe(made["deploy_key_public"]), soft_wrap=True)
    console.print(
        safe(f"Add it to the repository's deploy keys, then run `devpush git check {project}`.")
    )


def set_token(
    project: ProjectArg,
    username: Annotated[str, typer.Option(help="Default: the forge's usual one")] = "",
    token_file: Annotated[
        Path | None, typer.Option(help="Read the token from this file ('-': stdin)")
    ] = None,
) -> None:
    """Store an HTTPS access token (asked for, or read from --token-file)."""
    if token_file is None:
        token = typer.prompt("Token", hide_input=True)
    elif str(token_file) == "-":
        token = sys.stdin.readline()
    else:
        token = token_file.read_text()
    _print(
        call(
            "PUT",
            f"/projects/{project}/git/token",
            json={"token": token.strip(), "username": username},
        )
    )


def unset_token(project: ProjectArg) -> None:
    """Forget the HTTPS access token."""
    call("DELETE", f"/projects/{project}/git/token")
    console.print(safe("Token removed."))


def pin_host(
    project: ProjectArg,
    known_hosts: Annotated[
        Path | None, typer.Option(help="Pin these known_hosts lines instead of scanning the host")
    ] = None,
) -> None:
    """Pin the ssh host's keys (as the host shows them now, or from a known_hosts file)."""
    if known_hosts is None:
        access = call("POST", f"/projects/{project}/git/host-keys/pin")
    else:
        text = known_hosts.read_text()
        access = call("PUT", f"/projects/{project}/git/host-keys", json={"known_hosts": text})
    _print(access)


def check(project: ProjectArg) -> None:
    """Check that devpush can read the repository; say why not (exit code 1)."""
    answer = call("POST", f"/projects/{project}/git/check")
    if not answer["ok"]:
        raise fail(str(answer["problem"]))
    console.print(safe("devpush can read the repository."))


def poll(
    project: ProjectArg,
    every: Annotated[int | None, typer.Option(help="Seconds between polls; left out: off")] = None,
) -> None:
    """Poll the repository for new commits every N seconds (or stop polling)."""
    _print(call("PUT", f"/projects/{project}/git/poll", json={"interval_seconds": every}))


def register(app: typer.Typer) -> None:
    for name, command in (
        ("show", show),
        ("deploy-key", deploy_key),
        ("set-token", set_token),
        ("unset-token", unset_token),
        ("pin-host", pin_host),
        ("check", check),
        ("poll", poll),
    ):
        git_app.command(name)(command)
    app.add_typer(git_app, name="git")
