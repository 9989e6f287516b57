"""The sample app (examples/hello-python/app.py) as a real process: its request lines name
the client the proxy reports (X-Forwarded-For's first address), as the proxy's request
entries do, and the peer's address when no proxy stands in front."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.sample_app import run_sample_app


@pytest.fixture
def hello(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The app on a free loopback port; its stdout in a file."""
    for port, out in run_sample_app(tmp_path):
        yield f"http://127.0.0.1:{port}", out


def _line_for(out: Path, path: str) -> str:
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in out.read_text().splitlines() if f"GET {path} " in line]
        if lines:
            return lines[-1]
        assert time.monotonic() < deadline, out.read_text()
        time.sleep(0.05)


def test_the_sample_app_logs_the_client_the_proxy_names(hello: tuple[str, Path]) -> None:
    url, out = hello
    forwarded = {"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}
    assert httpx.get(f"{url}/through-proxy", headers=forwarded, timeout=5).status_code == 200
    assert _line_for(out, "/through-proxy").startswith("203.0.113.7 ")
    # No proxy in front: the peer itself.
    assert httpx.get(f"{url}/direct", timeout=5).status_code == 200
    assert _line_for(out, "/direct").startswith("127.0.0.1 ")
