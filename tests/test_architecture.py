"""ARCHITECTURE.md stays true where a test can tell: every path it names exists, the
router groups it names exist, what it says ``create_app`` builds is built there, and no
test module imports another (what tests share lives in support modules and fixtures)."""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

from devpush import routes
from devpush.core.config import Settings
from devpush.main import create_app

ROOT = Path(__file__).resolve().parents[1]
MAP = ROOT / "ARCHITECTURE.md"
#: Where a path the map names may start.
TOP = ("devpush/", "devpush_dev/", "tests/", "docs/", "Docker/", "scripts/", "benchmarks/")


def expand(text: str) -> list[str]:
    """``a/{b,c}.py`` → ``a/b.py``, ``a/c.py`` (shell-style braces, as the map writes them)."""
    parts = re.split(r"\{([^{}]*)\}", text)
    choices = [[part] if i % 2 == 0 else part.split(",") for i, part in enumerate(parts)]
    return ["".join(pieces) for pieces in itertools.product(*choices)]


def named_paths(text: str) -> list[str]:
    found = []
    for quoted in re.findall(r"`([^`\s]+)`", text) + re.findall(r"\]\(([^)\s]+)\)", text):
        path = quoted.split(" ")[0].rstrip(".,;:")
        if not path.startswith(TOP) or "<" in path or "*" in path:
            continue
        found += expand(path)
    return found


def test_every_path_the_map_names_exists() -> None:
    paths = named_paths(MAP.read_text())
    assert len(paths) > 50, paths  # the map was read
    missing = [path for path in paths if not (ROOT / path).exists()]
    assert missing == [], f"ARCHITECTURE.md names paths that do not exist: {missing}"


def test_the_router_groups_it_names_exist() -> None:
    text = MAP.read_text()
    for group in ("WEB", "API", "INTERNAL"):
        assert f"`{group}`" in text, group
        assert getattr(routes, group), group


def test_create_app_builds_the_cipher_before_the_lifespan(sqlite_url: str) -> None:
    # The map says create_app builds the cipher and the templates; the lifespan the rest.
    app = create_app(Settings(database_url=sqlite_url))
    assert app.state.fernet is not None and app.state.templates is not None
    assert not hasattr(app.state, "engine")  # opened by the lifespan only


def containing_test_module(name: str) -> str | None:
    """The ``tests.**.test_*`` module a dotted name is in (``tests.a.test_b.c`` →
    ``tests.a.test_b``), or None."""
    parts = name.split(".")
    if parts[0] != "tests":
        return None
    for end, part in enumerate(parts[1:], start=2):
        if part.startswith("test_"):
            return ".".join(parts[:end])
    return None


def imported_modules(path: Path) -> list[str]:
    """Every module ``path`` imports, by its dotted name (``from a import b`` gives ``a``
    and ``a.b``: ``b`` may be a module); relative imports resolved from ``path``."""
    package = path.relative_to(ROOT).parent.parts
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *(node.module or "").split(".")]).strip(".")
            names += [module, *(f"{module}.{alias.name}" for alias in node.names)]
    return names


def test_no_test_module_imports_another() -> None:
    """A test module imports no ``tests.**.test_*`` module: helpers live in plain modules
    beside their tests, fixtures in a conftest.py or a ``tests/fixtures/`` plugin."""
    files = [*ROOT.glob("tests/**/test_*.py"), *ROOT.glob("benchmarks/*.py")]
    assert len(files) > 100, files  # the tree was read
    found = sorted(
        {
            f"{path.relative_to(ROOT)} imports {module}"
            for path in files
            for name in imported_modules(path)
            if (module := containing_test_module(name)) is not None
        }
    )
    assert found == [], "\n".join(found)
