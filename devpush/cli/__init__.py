"""The ``devpush`` command.

Each sub-module adds its commands with ``register(app)``; a new command (for example
``devpush logs``) is one new module here plus its name in ``_COMMAND_MODULES``.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="devpush",
    help="Deploy and watch devpush projects; administer a devpush server.",
    no_args_is_help=True,
    add_completion=False,
)

#: Modules under devpush.cli that register commands, in the order ``--help`` lists them.
_COMMAND_MODULES = (
    "auth",
    "projects",
    "project_settings",
    "deploy",
    "rollback",
    "git",
    "logs",
    "metrics",
    "webhooks",
    "notifications",
    "drains",
    "domains",
    "members",
    "hosts",
    "admin",
)

for _name in _COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}").register(app)
