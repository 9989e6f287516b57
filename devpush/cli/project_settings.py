"""``devpush projects settings|delete|delete-environment|replicas`` and ``devpush env``.

``devpush projects settings PROJECT`` shows the settings, and with options changes them;
``devpush env list|set|unset PROJECT`` manages variables per scope (``--env shared``, the
default, or an environment's name); values are write-only, so ``env list`` shows names.
Changes take effect at the next deployment.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from devpush.cli.client import call, fail
from devpush.cli.projects import ProjectArg, key_values, projects_app
from devpush.cli.terminal import safe

console = Console()
env_app = typer.Typer(
    help="Environment variables of a project (values are write-only).", no_args_is_help=True
)

NEXT_DEPLOY = "Takes effect at the next deployment: run `devpush deploy {project}`."
#: What a null setting means where it is not "the server's default".
_NULL_MEANS = {"health_check.interval_seconds": "off"}
#: The check's fields whose 0 means "the default" (the grace: the server's ready timeout;
#: the interval: no checks while running).
_ZERO_IS_DEFAULT = frozenset({"grace_seconds", "interval_seconds"})
ScopeOption = Annotated[
    str, typer.Option("--env", "-e", help="`shared` (every environment) or an environment name")
]


def _shown(value: object, *, key: str) -> object:
    if value is None:
        return _NULL_MEANS.get(key, "default")
    if isinstance(value, dict):  # dockerfile.build_args
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    return value


def _setting_rows(project: dict[str, Any]) -> Iterator[tuple[str, object]]:
    """The project as the server answers it, in the server's order (the CLI does not list
    the fields itself): a value a row, a nested setting's (health_check, dockerfile) a row a
    field; the lists have their own commands (``env list``, ``projects replicas``)."""
    for key, value in project.items():
        if isinstance(value, dict):
            for field, inner in value.items():
                yield f"{key}.{field}", _shown(inner, key=f"{key}.{field}")
        elif not isinstance(value, list):
            yield key, _shown(value, key=key)


def settings(
    project: ProjectArg,
    name: Annotated[str | None, typer.Option(help="New display name")] = None,
    image: Annotated[str | None, typer.Option(help="Runner image")] = None,
    root_directory: Annotated[str | None, typer.Option(help="Sub-directory of the app")] = None,
    build_command: Annotated[str | None, typer.Option()] = None,
    pre_deploy_command: Annotated[str | None, typer.Option()] = None,
    start_command: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    health_path: Annotated[
        str | None, typer.Option(help="The health check's path, like /healthz")
    ] = None,
    health_status: Annotated[
        str | None, typer.Option(help="Expected statuses, like 200-399 (100-599: any)")
    ] = None,
    health_grace: Annotated[
        int | None, typer.Option(help="Seconds after the start for the first pass (0: default)")
    ] = None,
    health_interval: Annotated[
        int | None, typer.Option(help="Seconds between checks while running (0: no checks)")
    ] = None,
    health_threshold: Annotated[
        int | None, typer.Option(help="Failures in a row before a restart")
    ] = None,
    memory_mb: Annotated[
        int | None, typer.Option(help="The runner's memory in MB (0: the server's default)")
    ] = None,
    cpus: Annotated[
        float | None, typer.Option(help="The runner's CPUs (0: the server's default)")
    ] = None,
    host_label: Annotated[
        str | None,
        typer.Option(help="Swarm mode: place runners on hosts labelled KEY=VALUE ('': spread)"),
    ] = None,
    dockerfile: Annotated[
        bool | None,
        typer.Option("--dockerfile/--no-dockerfile", help="Build from the repository's Dockerfile"),
    ] = None,
    dockerfile_path: Annotated[
        str | None, typer.Option(help="The Dockerfile's path in the repository")
    ] = None,
    build_arg: Annotated[
        list[str] | None,
        typer.Option(help="KEY=VALUE build argument (repeat; replaces all; not secret)"),
    ] = None,
    no_build_args: Annotated[bool, typer.Option(help="Remove every build argument")] = False,
) -> None:
    """Show a project's settings; with options, change them (owners only)."""
    change: dict[str, object] = {
        "name": name,
        "runner_image": image,
        "root_directory": root_directory,
        "build_command": build_command,
        "pre_deploy_command": pre_deploy_command,
        "start_command": start_command,
        "port": port,
        "placement_label": host_label,
    }
    change = {key: value for key, value in change.items() if value is not None}
    # 0 asks for the default: the API's null.
    check = {
        key: (None if value == 0 and key in _ZERO_IS_DEFAULT else value)
        for key, value in {
            "path": health_path,
            "expect_status": health_status,
            "grace_seconds": health_grace,
            "interval_seconds": health_interval,
            "failure_threshold": health_threshold,
        }.items()
        if value is not None
    }
    if check:
        change["health_check"] = check
    for key, limit in (("memory_mb", memory_mb), ("cpus", cpus)):
        if limit is not None:
            change[key] = limit or None
    built: dict[str, object] = {
        key: value
        for key, value in {"enabled": dockerfile, "path": dockerfile_path}.items()
        if value is not None
    }
    if build_arg or no_build_args:
        built["build_args"] = key_values(build_arg or [], usage="expected KEY=VALUE")
    if built:
        change["dockerfile"] = built
    if change:
        current = call("PATCH", f"/projects/{project}", json=change)
    else:
        current = call("GET", f"/projects/{project}")
    table = Table("setting", "value", show_header=False)
    for key, value in _setting_rows(current):
        table.add_row(safe(key), safe(value))
    console.print(table)
    if change:
        console.print(safe("Saved. " + NEXT_DEPLOY.format(project=current["slug"])))


def delete(
    project: ProjectArg,
    confirm: Annotated[
        str | None, typer.Option(help="The project's name or slug, instead of the prompt")
    ] = None,
) -> None:
    """Delete a project: its deployments stop and their runners are removed (owners only)."""
    current = call("GET", f"/projects/{project}")
    if confirm is None:
        console.print(
            safe(f"This deletes {current['name']} ({current['slug']}) with its environments, ")
            + safe("deployments and variables, and removes its runners.")
        )
        confirm = typer.prompt("Type the project's name to confirm")
    if confirm.strip() not in (current["name"], current["slug"]):
        raise fail("the name does not match; nothing deleted")
    call("DELETE", f"/projects/{current['id']}")
    console.print(safe(f"Deleted {current['slug']}; its runners are being removed."))


@env_app.command("list")
def env_list(project: ProjectArg) -> None:
    """Names of the variables per scope (values are never shown)."""
    scopes = call("GET", f"/projects/{project}/variables")["scopes"]
    table = Table("scope", "names")
    for scope, names in scopes.items():
        table.add_row(safe(scope), safe(", ".join(names) or "-"))
    console.print(table)


@env_app.command("set")
def env_set(
    project: ProjectArg,
    pairs: Annotated[list[str] | None, typer.Argument(help="KEY=VALUE pairs")] = None,
    scope: ScopeOption = "shared",
    env_file: Annotated[
        Path | None, typer.Option("--from-file", exists=True, dir_okay=False, help="A .env file")
    ] = None,
) -> None:
    """Add or replace variables (owners only); a .env file is read by the server's rules."""
    values = key_values(pairs or [], usage="expected KEY=VALUE")
    text = env_file.read_text() if env_file is not None else ""
    if not values and not text.strip():
        raise fail("give KEY=VALUE pairs or --from-file")
    scopes = call(
        "PATCH", f"/projects/{project}/variables/{scope}", json={"values": values, "text": text}
    )["scopes"]
    console.print(
        safe(f"Variables of {scope}: {', '.join(scopes.get(scope, []))}. ")
        + safe(NEXT_DEPLOY.format(project=project))
    )


@env_app.command("unset")
def env_unset(
    project: ProjectArg,
    keys: Annotated[list[str], typer.Argument(help="Variable names")],
    scope: ScopeOption = "shared",
) -> None:
    """Delete variables (owners only)."""
    for key in keys:
        call("DELETE", f"/projects/{project}/variables/{scope}/{key}")
    console.print(
        safe(f"Removed {', '.join(keys)} ({scope}). ") + safe(NEXT_DEPLOY.format(project=project))
    )


def delete_environment(
    project: ProjectArg,
    environment: Annotated[str, typer.Argument(help="A preview environment's name")],
) -> None:
    """Delete a preview environment with its deployments (owners only)."""
    call("DELETE", f"/projects/{project}/environments/{environment}")
    console.print(safe(f"Deleted environment {environment}; its runners are being removed."))


def replicas(
    project: ProjectArg,
    environment: Annotated[str, typer.Argument(help="An environment's name")],
    count: Annotated[
        int | None, typer.Argument(help="Runners per deployment, 1-10 (swarm mode for >1)")
    ] = None,
) -> None:
    """Show or set an environment's replicas: runners per deployment, spread over hosts."""
    if count is None:
        current = call("GET", f"/projects/{project}")
        for item in current.get("environments", []):
            if environment in (item["name"], item["id"]):
                console.print(safe(f"{item['name']}: {item.get('replicas', 1)} replica(s)"))
                return
        raise fail(f"no environment {environment} in {project}")
    changed = call(
        "PATCH", f"/projects/{project}/environments/{environment}", json={"replicas": count}
    )
    console.print(
        safe(f"{changed['name']}: {changed['replicas']} replica(s). ")
        + safe(NEXT_DEPLOY.format(project=project))
    )


def register(app: typer.Typer) -> None:
    projects_app.command("settings")(settings)
    projects_app.command("delete")(delete)
    projects_app.command("delete-environment")(delete_environment)
    projects_app.command("replicas")(replicas)
    app.add_typer(env_app, name="env")
