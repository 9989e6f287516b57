"""ARCHITECTURE.md stays true where a test can tell: every path it names exists, the
router groups it names exist, and what it says ``create_app`` builds is built there."""

from __future__ import annotations

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
