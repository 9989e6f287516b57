"""scripts/dev/local.sh, the README's "try it" command: lint, flags, and two real runs.

The runs use their own port and data dir, so they never touch ./data or a local
instance on 8000. Ctrl-C is simulated with SIGINT to the script's process group,
as a terminal sends it.
"""

from __future__ import annotations

import socket
import stat
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from devpush_dev.ports import free_port
from tests.e2e.local_run import SCRIPT, interrupt, run_until_ready

pytestmark = pytest.mark.docker


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_shellcheck_clean() -> None:
    done = subprocess.run(["shellcheck", "-x", str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_help_and_unknown_arguments() -> None:
    done = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    assert "--port PORT" in done.stdout
    done = subprocess.run([str(SCRIPT), "--bogus"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "unknown argument: --bogus" in done.stderr
    done = subprocess.run([str(SCRIPT), "--log-store", "files"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "--log-store takes victorialogs or loki" in done.stderr


def environ_of(*argv_parts: str) -> dict[str, str]:
    """The environment of the one running process whose argv holds all ``argv_parts``."""
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if all(part.encode() in argv for part in argv_parts):
                raw = (proc / "environ").read_bytes().split(b"\0")
                return dict(item.decode().split("=", 1) for item in raw if b"=" in item)
        except OSError:
            continue
    pytest.fail(f"no process runs with {argv_parts}")


def test_runs_the_app_and_worker_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port, web_port = free_port(), free_port()
    process, lines = run_until_ready(port, tmp_path, web_port)
    output = "".join(lines)
    try:
        assert "Created user admin@localhost" in output
        assert f"devpush is running: http://127.0.0.1:{port}" in output
        # Caddy serves the deployment URLs on the proxy port; no deployment yet: its 404.
        assert f"deployments answer at http://<project>.localhost:{web_port}/" in output
        answer = httpx.get(
            f"http://127.0.0.1:{web_port}/", headers={"Host": "shop.localhost"}, timeout=5
        )
        assert (answer.status_code, answer.headers["server"]) == (404, "Caddy")
        # The embedded log stack runs by default, and the app is pointed at it.
        assert "Logs: the collector ships runner and request logs to VictoriaLogs at" in output
        page = httpx.get(f"http://127.0.0.1:{port}/", follow_redirects=True, timeout=10)
        assert page.status_code == 200
        for secret in ("admin-password", "secret-key"):
            assert stat.S_IMODE((tmp_path / secret).stat().st_mode) == 0o600
        pipeline = dict(
            line.split("=", 1) for line in (tmp_path / "local" / "pipeline.env").read_text().split()
        )
        admin_url = pipeline["DEVPUSH_PROXY_ADMIN_URL"]
        assert httpx.get(f"{admin_url}/config/", timeout=5).json()["apps"]["http"]
        proxy_port = int(pipeline["DEVPUSH_DOCKER_HOST"].rsplit(":", 1)[1])
        assert httpx.get(f"http://127.0.0.1:{proxy_port}/_ping", timeout=5).text == "OK"
        assert pipeline["DEVPUSH_LOG_STORE"] == "victorialogs"
        store_url = pipeline["DEVPUSH_LOG_STORE_URL"]
        assert httpx.get(f"{store_url}/health", timeout=5).text == "OK"
        store_port = int(store_url.rsplit(":", 1)[1])
        # Every setting the pipeline publishes reaches the app, the collector's too.
        app_env = environ_of("devpush.main:app", str(port))
        for key, value in pipeline.items():
            assert app_env.get(key) == value, key
        assert httpx.get(pipeline["DEVPUSH_LOG_COLLECTOR_METRICS_URL"], timeout=5).is_success
        # The worker consumes the queue with the deploy jobs registered.
        assert "devpush.deploy" in (tmp_path / "local" / "worker.log").read_text()
    finally:
        code = interrupt(process)
    assert code == 130
    # Ctrl-C reaches the script only; it stops every child itself, so none reads as a crash.
    deadline = time.monotonic() + 10  # the reader thread may still hold the last lines
    while "==> stopped;" not in "".join(lines) and time.monotonic() < deadline:
        time.sleep(0.05)
    stopped = "".join(lines)
    assert "stopped unexpectedly" not in stopped, stopped
    assert "==> stopped;" in stopped
    assert not listening(port)
    assert not listening(web_port)
    assert not listening(proxy_port)
    assert not listening(store_port)

    # Again: nothing is re-created, the first password still stands.
    password = (tmp_path / "admin-password").read_text()
    process, lines = run_until_ready(port, tmp_path, web_port)
    assert interrupt(process) == 130
    assert "already exists; nothing changed" in "".join(lines)
    assert (tmp_path / "admin-password").read_text() == password
