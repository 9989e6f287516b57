"""``devpush login``: trade e-mail and password for an API token and save it."""

from __future__ import annotations

import socket
from typing import Annotated

import typer
from rich.console import Console

from app.cli.client import ApiClient, ApiError, fail
from app.cli.config import CliConfig, save_config
from app.cli.terminal import safe

console = Console()


def login(
    url: Annotated[str, typer.Option(prompt="Server URL", help="e.g. https://devpush.example.org")],
    email: Annotated[str, typer.Option(prompt="E-mail")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    name: Annotated[str, typer.Option(help="Token name shown in the UI")] = "",
) -> None:
    """Log in to a devpush server; the token is saved in ~/.config/devpush/config.json (0600)."""
    url = url.rstrip("/")
    token_name = name or f"devpush CLI on {socket.gethostname()}"[:100]
    try:
        with ApiClient(url) as client:
            created = client.post(
                "/tokens", json={"email": email, "password": password, "name": token_name}
            )
    except ApiError as exc:
        raise fail(f"login failed: {exc}") from exc
    path = save_config(CliConfig(url=url, token=created["token"]))
    console.print(
        safe(f"Logged in to {url} as {email}; token ")
        + safe(created["name"], "bold")
        + safe(f" in {path}")
    )


def register(app: typer.Typer) -> None:
    app.command()(login)
