"""Browser tests: the real app on uvicorn, with Loki on a closed loopback port (down)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright
from pydantic import SecretStr

from app.core.config import Settings
from tests.routers.webapp import SECRET_KEY, live_url, queue, two_teams, web_app

__all__ = ["live_url", "queue", "two_teams", "web_app"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as sock:  # bound, not listening: connection refused
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def settings(db_url: str, tmp_path: Path, closed_port: int) -> Settings:
    return Settings(
        database_url=db_url,
        data_dir=tmp_path,
        queue_url=f"sqlite:///{tmp_path / 'queue.sqlite3'}",
        secret_key=SecretStr(SECRET_KEY),
        loki_url=f"http://127.0.0.1:{closed_port}",
    )


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/dev/test-deps.sh (installs chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
