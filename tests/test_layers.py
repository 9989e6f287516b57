"""The import graph of ``devpush/``: no cycle, and no arrow against the layer order.

The layers, left to right (ARCHITECTURE.md, "Layers")::

    core → logs → models → services → workers | web, api, deps → routes, main

A module imports only from its own layer or the layers to its left; ``workers`` and the
request side (``web``, ``api``, ``deps``) sit on one level but never import each other,
and ``web`` and ``api`` don't import each other either (what both use is in ``deps``).
Outside the layers:

- ``migrations`` sit beside ``services``: they read ``core`` and ``models``, and
  nothing in the app imports them (Alembic loads them by path);
- the development package ``devpush_dev`` (the local run's and the tests' process
  starters) sits outside ``devpush/`` altogether: it may use the app, the app never
  imports it, and the wheel and the image do not carry it;
- ``cli`` talks to the server over HTTP and imports nothing of the app but itself,
  ``ansi`` (the one tokenizer of terminal text) and ``units`` (sizes in words), which
  import nothing of the app.

Every import counts, the lazy ones inside functions and ``TYPE_CHECKING`` too.
"""

from __future__ import annotations

import ast
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

from tests.utils.cli_shared import SHARED_WITH_CLI

APP = Path(__file__).resolve().parents[1] / "devpush"

#: (module prefix, layer, group): the first matching prefix decides. Same layer, other
#: group: not allowed, except that every request-side group may import ``deps``.
LAYERS: tuple[tuple[str, int, str], ...] = (
    ("devpush.ansi", 0, "ansi"),
    ("devpush.units", 0, "units"),
    ("devpush.core", 0, "core"),
    ("devpush.logs", 1, "logs"),
    ("devpush.models", 2, "models"),
    ("devpush.services", 3, "services"),
    ("devpush.migrations", 3, "migrations"),
    ("devpush.workers", 4, "workers"),
    ("devpush.web", 4, "web"),
    ("devpush.api", 4, "api"),
    ("devpush.deps", 4, "deps"),
    ("devpush.log_request", 4, "deps"),
    ("devpush_dev", 4, "local"),
    ("devpush.resolver", 4, "resolver"),
    ("devpush.routes", 5, "main"),
    ("devpush.main", 5, "main"),
)
#: Groups that may import ``deps`` though on its level.
_USES_DEPS = frozenset({"web", "api"})
#: Groups no other module of the app may import.
_LEAVES = frozenset({"migrations", "main"})
#: The development package: never imported by the app, never shipped.
DEV_PACKAGE = "devpush_dev"
#: The top-level packages whose imports the graph follows.
_ROOTS = frozenset({"devpush", DEV_PACKAGE})


def _modules() -> dict[str, Path]:
    modules = {}
    for path in APP.rglob("*.py"):
        parts = list(path.relative_to(APP.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """The app modules ``name`` imports (``from pkg import mod`` is an arrow to ``pkg.mod``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] in _ROOTS)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            if base.split(".")[0] not in _ROOTS:
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield full if full in modules else base


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {target for target in _imports(name, path, modules) if target != name}
        for name, path in modules.items()
    }


def _layer(module: str) -> tuple[int, str] | None:
    for prefix, layer, group in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return layer, group
    return None


def _violation(source: str, target: str) -> str | None:
    """Why ``source`` may not import ``target`` (None: it may)."""
    if target.split(".")[0] == DEV_PACKAGE:
        return "the app never imports the development package"
    if source.startswith("devpush.cli") and target in SHARED_WITH_CLI:
        return None
    if source.startswith("devpush.cli") or target.startswith("devpush.cli"):
        both = source.startswith("devpush.cli") and target.startswith("devpush.cli")
        return None if both else "the CLI and the server share no module"
    src, dst = _layer(source), _layer(target)
    if src is None or dst is None:
        return None  # the package ``devpush`` itself
    (src_layer, src_group), (dst_layer, dst_group) = src, dst
    if dst_group in _LEAVES and dst_group != src_group:
        return f"nothing imports {dst_group}"
    if dst_layer > src_layer:
        return f"{src_group} (layer {src_layer}) imports {dst_group} (layer {dst_layer})"
    beside = dst_layer == src_layer and dst_group != src_group
    if beside and not (dst_group == "deps" and src_group in _USES_DEPS):
        return f"{src_group} imports {dst_group}, beside it"
    return None


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in graph:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_layer() -> None:
    packages = {name for name, path in _modules().items() if path.name == "__init__.py"}
    unplaced = [
        name
        for name in _modules()
        if name not in packages and not name.startswith("devpush.cli") and _layer(name) is None
    ]
    assert unplaced == [], "add these to LAYERS (and to ARCHITECTURE.md)"


def test_no_import_cycle() -> None:
    assert _cycles(_graph()) == []


def test_no_import_against_the_layer_order() -> None:
    wrong = sorted(
        f"{source} → {target}: {why}"
        for source, targets in _graph().items()
        for target in targets
        if (why := _violation(source, target))
    )
    assert wrong == []


def test_the_checks_catch_what_they_are_for() -> None:
    # The rule itself: a cycle, an upward arrow, a sideways one and the CLI's boundary.
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _violation("devpush.services.deployments", "devpush.workers.queue") is not None
    assert _violation("devpush.workers.tasks.deploy", "devpush.services.deployments") is None
    assert _violation("devpush.workers.queue", "devpush.deps") is not None
    assert _violation("devpush.cli.logs", "devpush.services.logs") is not None
    assert _violation("devpush.cli.terminal", "devpush.ansi") is None
    assert _violation("devpush.ansi", "devpush.core.config") is not None
    assert _violation("devpush.cli.metrics", "devpush.units") is None
    assert _violation("devpush.units", "devpush.core.config") is not None
    assert _violation("devpush.services.logs", "devpush_dev.caddy") is not None


def test_the_wheel_carries_the_app_and_no_development_module(tmp_path: Path) -> None:
    root = APP.parent
    done = subprocess.run(
        ["uv", "build", "--wheel", "--out-dir", str(tmp_path), str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [wheel] = tmp_path.glob("devpush-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    assert "devpush" in tops
    assert {top for top in tops if not top.endswith(".dist-info")} == {"devpush"}, tops
