"""The worker's probe through Caddy (``runner_address = "proxy"``, the Compose stack), on
the real pinned Caddy: a port nothing listens on is not ready; any answer of the app's
own, a 502 too, is."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from devpush.core.config import Settings
from devpush.services import proxy_config
from devpush_dev import processes
from devpush_dev.caddy import caddy_binary
from devpush_dev.ports import free_port


class Answers(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class Fails(Answers):
    status = 502


@pytest.fixture
def probing() -> Iterator[Settings]:
    """A Caddy with the probe server only; the worker's settings that ask it."""
    # A short directory: a unix socket's path has at most 107 bytes.
    state = Path(tempfile.mkdtemp(prefix="probe-", dir="/tmp"))
    settings = Settings(proxy_admin_url=f"unix://{state}/admin.sock", runner_address="proxy")
    socket_path = proxy_config.probe_socket(settings)
    assert socket_path == f"{state}/probe.sock"
    admin = f"127.0.0.1:{free_port()}"
    config = {
        "admin": {"listen": admin},
        "apps": {"http": {"servers": {"probe": proxy_config.probe_server(socket_path)}}},
    }
    (state / "caddy.json").write_text(json.dumps(config))
    child = processes.start_ready(
        "caddy",
        [caddy_binary(), "run", "--config", str(state / "caddy.json")],
        state_dir=state,
        log_name="caddy.log",
        ready_url=f"http://{admin}/config/",
        timeout=15,
        env={"HOME": str(state), "XDG_DATA_HOME": str(state), "XDG_CONFIG_HOME": str(state)},
    )
    try:
        yield settings
    finally:
        child.stop()
        shutil.rmtree(state, ignore_errors=True)


def serve(handler: type[BaseHTTPRequestHandler]) -> HTTPServer:
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_probe_tells_a_closed_port_from_an_app_that_answers(probing: Settings) -> None:
    assert not proxy_config.probe(probing, f"http://127.0.0.1:{free_port()}/")
    for handler in (Answers, Fails):
        server = serve(handler)
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/"
            assert proxy_config.probe(probing, url), handler.__name__
        finally:
            server.shutdown()
            server.server_close()


def test_probing_needs_the_proxys_socket() -> None:
    with pytest.raises(proxy_config.ProxyError, match="probe socket"):
        proxy_config.probe(Settings(), "http://127.0.0.1:1/")
