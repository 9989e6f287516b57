"""The CLI installs alone: its wheel without extras brings none of the server's packages.

Builds the wheel with ``uv build``, installs it with pip from PyPI into a fresh virtual
environment, and runs the installed ``devpush``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.utils.cli_shared import SHARED_WITH_CLI

REPO = Path(__file__).resolve().parents[2]
# The server's distributions (the `server` extra) and what they pull in. (pydantic is not
# here: recent typer releases depend on it themselves.)
SERVER_PACKAGES = {
    "alembic", "argon2-cffi", "docker", "fastapi", "google-re2", "huey", "psycopg",
    "psycopg-binary", "redis", "sqlalchemy", "uvicorn", "starlette", "sse-starlette",
    "pydantic-settings", "cryptography", "jinja2", "python-dotenv",
    "python-multipart", "itsdangerous",
}  # fmt: skip
SERVER_MODULES = {
    "alembic", "argon2", "docker", "fastapi", "re2", "huey", "psycopg", "redis",
    "sqlalchemy", "uvicorn", "starlette", "pydantic_settings", "cryptography", "jinja2", "dotenv",
}  # fmt: skip


def test_the_server_is_an_extra() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {dep.split(">")[0].split("[")[0] for dep in project["dependencies"]}
    assert names == {"httpx", "rich", "typer"}
    server = {dep.split(">")[0].split("[")[0] for dep in project["optional-dependencies"]["server"]}
    assert {"fastapi", "sqlalchemy", "docker", "uvicorn"} <= server
    assert "uvicorn>=0.32" in project["optional-dependencies"]["server"]  # no [standard]


def test_production_locks_no_unused_uvicorn_extras() -> None:
    # uvicorn[standard]'s websockets, httptools and uvloop: unused (no websocket routes, the
    # images run plain uvicorn); watchfiles is in the dev group only, for --reload.
    locked = tomllib.loads((REPO / "uv.lock").read_text())["package"]
    names = {package["name"] for package in locked}
    assert not names & {"websockets", "httptools", "uvloop"}
    root = next(package for package in locked if package["name"] == "devpush")
    server = {dep["name"] for dep in root["optional-dependencies"]["server"]}
    assert "watchfiles" not in server and "uvicorn" in server


def test_the_cli_imports_nothing_from_the_server() -> None:
    code = (
        "import json, sys, devpush.cli\n"
        "from typer.main import get_command\n"
        "get_command(devpush.cli.app)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(out.stdout))
    tops = {name.partition(".")[0] for name in loaded}
    assert not tops & SERVER_MODULES, sorted(tops & SERVER_MODULES)
    # Of devpush itself: the package, the CLI and the standard-library helpers it shares.
    assert "devpush.cli.deploy" in loaded  # the names below are the package's real ones
    server = {
        name
        for name in loaded
        if name.startswith("devpush.")
        and not (name == "devpush.cli" or name.startswith("devpush.cli."))
        and name not in SHARED_WITH_CLI
    }
    assert not server, sorted(server)


@pytest.fixture(scope="module")
def laptop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed from PyPI, no extras: the venv's bin dir."""
    root = tmp_path_factory.mktemp("laptop")
    subprocess.run(
        ["uv", "build", "--wheel", "--out-dir", str(root / "dist"), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (root / "dist").glob("devpush-*.whl")
    subprocess.run(["python3", "-m", "venv", str(root / "venv")], check=True, timeout=120)
    bin_dir = root / "venv" / "bin"
    done = subprocess.run(
        [str(bin_dir / "pip"), "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (
        f"pip install of the CLI failed (is PyPI reachable?)\n{done.stderr}"
    )
    return bin_dir


def test_the_wheel_installs_only_the_client(laptop: Path) -> None:
    listed = subprocess.run(
        [str(laptop / "pip"), "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    )
    installed = {item["name"].lower().replace("_", "-") for item in json.loads(listed.stdout)}
    assert {"devpush", "httpx", "rich", "typer"} <= installed
    assert not installed & SERVER_PACKAGES, sorted(installed & SERVER_PACKAGES)


def test_the_installed_cli_runs(laptop: Path, tmp_path: Path) -> None:
    env = {"PATH": f"{laptop}:{os.environ['PATH']}", "HOME": str(tmp_path), "COLUMNS": "200"}
    helped = subprocess.run(
        ["devpush", "--help"], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert helped.returncode == 0, helped.stderr
    for command in ("login", "projects", "deploy", "logs", "admin"):
        assert command in helped.stdout
    # Commands that need a login say so, not an import error.
    logs = subprocess.run(
        ["devpush", "logs", "shop"], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert logs.returncode == 1
    assert "not logged in" in logs.stderr
    # The server's own commands explain what is missing.
    migrate = subprocess.run(
        ["devpush", "admin", "migrate"], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert migrate.returncode == 1
    assert "needs its packages" in migrate.stderr
    assert "devpush[server]" in migrate.stderr
    assert "Traceback" not in migrate.stderr
