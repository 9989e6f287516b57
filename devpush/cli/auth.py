"""``devpush login``: save a server URL and an API token for the other commands.

Either trade e-mail and password for a new token, or save an existing one (``--token``,
made on the web app's tokens page; ``--token -`` reads it from standard input, out of the
shell's history). ``DEVPUSH_TOKEN`` works without logging in at all (devpush.cli.config).
"""

from __future__ import annotations

import socket
import sys
from typing import Annotated

import typer
from rich.console import Console

from devpush.cli.client import ApiClient, ApiError, fail
from devpush.cli.config import CliConfig, save_config
from devpush.cli.terminal import safe

console = Console()


def _new_token(url: str, email: str | None, password: str | None, name: str) -> tuple[str, str]:
    email = email or typer.prompt("E-mail")
    password = password or typer.prompt("Password", hide_input=True)
    token_name = name or f"devpush CLI on {socket.gethostname()}"[:100]
    try:
        with ApiClient(url) as client:
            created = client.post(
                "/tokens", json={"email": email, "password": password, "name": token_name}
            )
    except ApiError as exc:
        raise fail(f"login failed: {exc}") from exc
    return str(created["token"]), f"as {email}; token {created['name']}"


def _existing_token(url: str, token: str) -> tuple[str, str]:
    if token == "-":  # noqa: S105 (stdin, not a password)
        token = sys.stdin.readline()
    token = token.strip()
    if not token:
        raise fail("login failed: the token is empty")
    try:
        with ApiClient(url, token=token) as client:
            me = client.get("/me")
    except ApiError as exc:
        raise fail(f"login failed: the server refused the token: {exc}") from exc
    return token, f"as {me['email']} with the given token"


def login(
    url: Annotated[str, typer.Option(prompt="Server URL", help="e.g. https://devpush.example.org")],
    email: Annotated[str | None, typer.Option(help="With --password: make a new token")] = None,
    password: Annotated[str | None, typer.Option(help="Asked for when left out")] = None,
    token: Annotated[
        str | None,
        typer.Option(help="Save an existing API token (from the tokens page; - reads stdin)"),
    ] = None,
    name: Annotated[str, typer.Option(help="Name of the new token shown in the UI")] = "",
) -> None:
    """Log in to a devpush server; the token is saved in ~/.config/devpush/config.json (0600)."""
    url = url.rstrip("/")
    if token is not None:
        if email or password:
            raise fail("use either --token or --email/--password, not both")
        saved, who = _existing_token(url, token)
    else:
        saved, who = _new_token(url, email, password, name)
    path = save_config(CliConfig(url=url, token=saved))
    console.print(safe(f"Logged in to {url} {who}; saved in {path}"))


def register(app: typer.Typer) -> None:
    app.command()(login)
