"""GitHub's published webhook examples and signing code (``@octokit/webhooks-examples`` and
``@octokit/webhooks-methods``), run with Node from the forge fixtures' cache.

scripts/dev/test-deps.sh installs them (tests/forges/package.json); missing ones fail
the test with a clear message.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from devpush_dev.binaries import cache_dir

SCRIPT = Path(__file__).with_name("octokit.mjs")


def forges_dir() -> Path:
    return cache_dir() / "forges"


def _modules() -> Path:
    modules = forges_dir() / "node_modules" / "@octokit"
    for package in ("webhooks-examples", "webhooks-methods"):
        if not (modules / package).is_dir():
            pytest.fail(
                f"{modules / package} is missing: run scripts/dev/test-deps.sh "
                "(installs tests/forges/package.json)"
            )
    return modules


@functools.cache
def _index() -> dict[str, list[dict[str, Any]]]:
    path = _modules() / "webhooks-examples" / "api.github.com" / "index.json"
    return {entry["name"]: entry["examples"] for entry in json.loads(path.read_text())}


def examples(event: str) -> list[dict[str, Any]]:
    """GitHub's examples of ``event`` (copies: the tests rewrite them)."""
    return copy.deepcopy(_index()[event])


def example(event: str, **match: Any) -> dict[str, Any]:
    """The first example of ``event`` whose top-level fields equal ``match``."""
    for payload in examples(event):
        if all(payload.get(key) == value for key, value in match.items()):
            return payload
    raise AssertionError(f"no {event} example with {match}")


def _node(mode: str, data: dict[str, str]) -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: run scripts/dev/test-deps.sh (installs Node.js)")
    _modules()
    done = subprocess.run(
        [node, str(SCRIPT), mode],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "DEVPUSH_FORGES_DIR": str(forges_dir())},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def sign(secret: str, payload: str) -> str:
    """octokit's ``sign(secret, payload)``: ``sha256=<hex>``."""
    return _node("sign", {"secret": secret, "payload": payload})


def verify(secret: str, payload: str, signature: str) -> bool:
    """octokit's ``verify(secret, payload, signature)``."""
    return _node("verify", {"secret": secret, "payload": payload, "signature": signature}) == "true"
