"""The shape the commands of a project's configured items (notification channels, log
drains, custom domains) share: list or say there are none, add and show a secret once,
remove, send a test.

No ``from __future__ import annotations`` here: the commands ``add_remove_and_test`` makes
declare their item argument with the caller's words, an annotation typer must get as an
object, not as a name to look up in this module.
"""

from typing import Annotated, Any

import typer
from rich.console import Console

from devpush.cli.client import call, fail
from devpush.cli.projects import ProjectArg
from devpush.cli.terminal import safe

console = Console()


def list_items(path: str, *, none: str) -> list[dict[str, Any]]:
    """The items at ``path``; with none, ``none`` is printed (and the list is empty)."""
    items: list[dict[str, Any]] = call("GET", path)
    if not items:
        console.print(safe(none))
    return items


def print_added(item: dict[str, Any], *, noun: str, detail: str) -> None:
    """Say what was added; a new signing secret is printed here, the only time it is shown."""
    console.print(safe(f"Added {item['kind']} {noun} {item['id']} ({detail})."))
    if item.get("secret"):
        console.print(safe("Signing secret (shown once, keep it now):"))
        console.print(safe(item["secret"]), soft_wrap=True)


def remove_item(path: str, *, what: str) -> None:
    """Remove the item at ``path`` and say ``Removed <what>.``"""
    call("DELETE", path)
    console.print(safe(f"Removed {what}."))


def send_test(path: str) -> None:
    """Ask the item at ``path`` for a test delivery and say whether the receiver took it
    (with the receiver's status code when the answer has one)."""
    result = call("POST", f"{path}/test")
    code = f" ({result['status_code']})" if result.get("status_code") else ""
    if not result["ok"]:
        raise fail(f"not delivered{code}: {result['error']}")
    console.print(safe(f"Delivered{code}."))


def add_remove_and_test(
    app: typer.Typer, *, collection: str, noun: str, remove_help: str, test_help: str
) -> None:
    """Give ``app`` the ``remove PROJECT ITEM`` and ``test PROJECT ITEM`` commands of the
    project's items at ``/projects/<project>/<collection>``, one called a ``noun``."""
    item_arg = Annotated[
        str, typer.Argument(help=f"The {noun}'s id (see `{collection} list`)", metavar=noun)
    ]

    @app.command("remove", help=remove_help)
    def remove(project: ProjectArg, item: item_arg) -> None:
        remove_item(f"/projects/{project}/{collection}/{item}", what=f"{noun} {item}")

    @app.command("test", help=test_help)
    def test(project: ProjectArg, item: item_arg) -> None:
        send_test(f"/projects/{project}/{collection}/{item}")
