"""Asking the running Compose stack as its users do: its API with the admin's token, a
deployed host over HTTPS through its Caddy, and a wait that shows the stack's logs when
it gives up. The end-to-end and the isolation tests share them."""

from __future__ import annotations

import subprocess
import time
from typing import Any

from tests.compose.stack import ComposeStack, run


def api(stack: ComposeStack, method: str, path: str, **kwargs: Any) -> Any:
    with stack.client() as client:
        response = client.request(method, f"/api/v1{path}", **kwargs)
    assert response.status_code < 300, (method, path, response.status_code, response.text)
    return response.json()


def wait_until(what: str, check: Any, *, timeout: float, stack: ComposeStack) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f}s\n{stack.tail_logs()}"
        time.sleep(1)


def curl_https(stack: ComposeStack, host: str) -> subprocess.CompletedProcess[str]:
    """GET https://host/ through the published Caddy port, trusting only Caddy's root."""
    root_cert = stack.data_root / "caddy/data/caddy/pki/authorities/local/root.crt"
    return run(
        [
            "curl", "-sS", "--max-time", "15", "--cacert", str(root_cert),
            "--resolve", f"{host}:{stack.https_port}:127.0.0.1",
            "-w", "\n%{http_code}", f"https://{host}:{stack.https_port}/",
        ],
        timeout=30,
    )  # fmt: skip


def https_body(stack: ComposeStack, host: str, what: str) -> str:
    """Once Caddy answers ``host`` over HTTPS (within 60 s): the answer's body, a 200's."""
    proc = wait_until(
        what,
        lambda: (p := curl_https(stack, host)).returncode == 0 and p,
        timeout=60,
        stack=stack,
    )
    body, _, status = proc.stdout.rpartition("\n")
    assert status == "200", proc.stdout
    return str(body)
