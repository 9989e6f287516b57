"""``devpush domains list|add|redirect|check|remove PROJECT``: a project's custom domains.

Adding a domain prints the DNS record to create; devpush then checks the name's DNS
(retried with back-off) and serves it, with a certificate, once it points at the server.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from devpush.cli.client import call
from devpush.cli.project_items import list_items, remove_item
from devpush.cli.projects import ProjectArg
from devpush.cli.terminal import safe

console = Console()
domains_app = typer.Typer(
    help="Custom domains of a project: add, list, check, remove.", no_args_is_help=True
)
NameArg = Annotated[str, typer.Argument(help="The domain, such as www.example.com")]


def _status(domain: dict[str, Any]) -> str:
    reason = f": {domain['reason']}" if domain["reason"] else ""
    return f"{domain['status']}{reason}"


def _record(record: dict[str, str]) -> str:
    return f"{record['name']}  {record['type']}  {record['value']}"


@domains_app.command("list")
def list_domains(project: ProjectArg) -> None:
    """The project's domains, their environment and status."""
    domains = list_items(f"/projects/{project}/domains", none="No custom domains.")
    if not domains:
        return
    table = Table("domain", "environment", "redirects to", "status", "DNS record")
    for domain in domains:
        table.add_row(
            safe(domain["name"]),
            safe(domain["environment"]),
            safe(domain["redirect_to"] or "-"),
            safe(_status(domain)),
            safe(_record(domain["dns_record"])),
        )
    console.print(table)


@domains_app.command("add")
def add(
    project: ProjectArg,
    name: NameArg,
    environment: Annotated[
        str | None, typer.Option("--environment", "-e", help="The environment (production)")
    ] = None,
    redirect_to: Annotated[
        str | None,
        typer.Option("--redirect-to", help="Redirect to its apex or www twin (added already)"),
    ] = None,
) -> None:
    """Add a domain (owners only) and print the DNS record to create."""
    body: dict[str, Any] = {"name": name}
    if environment:
        body["environment"] = environment
    if redirect_to:
        body["redirect_to"] = redirect_to
    domain = call("POST", f"/projects/{project}/domains", json=body)
    console.print(safe(f"Added {domain['name']} to {domain['environment']}."))
    console.print(safe("Create this DNS record at your DNS provider:"))
    console.print(safe(f"  {_record(domain['dns_record'])}"))
    others = [record for record in domain["dns_records"] if record != domain["dns_record"]]
    if others:
        console.print(safe("or any of these:"))
        for record in others:
            console.print(safe(f"  {_record(record)}"))
    console.print(safe(f"Status: {_status(domain)}"))


@domains_app.command("redirect")
def redirect(
    project: ProjectArg,
    name: NameArg,
    to: Annotated[
        str | None, typer.Option("--to", help="Its apex or www twin; leave out to serve it itself")
    ] = None,
) -> None:
    """Redirect a domain to its apex or www twin, or serve it itself again (owners only)."""
    domain = call("PATCH", f"/projects/{project}/domains/{name}", json={"redirect_to": to})
    if domain["redirect_to"]:
        console.print(safe(f"{domain['name']} redirects to {domain['redirect_to']}."))
    else:
        console.print(safe(f"{domain['name']} is served itself."))


@domains_app.command("check")
def check(project: ProjectArg, name: NameArg) -> None:
    """Check the domain's DNS again now (owners only)."""
    domain = call("POST", f"/projects/{project}/domains/{name}/check")
    console.print(safe(f"{domain['name']}: {_status(domain)}"))


@domains_app.command("remove")
def remove(project: ProjectArg, name: NameArg) -> None:
    """Remove a domain (owners only): it is no longer served within a second."""
    remove_item(f"/projects/{project}/domains/{name}", what=name)


def register(app: typer.Typer) -> None:
    app.add_typer(domains_app, name="domains")
