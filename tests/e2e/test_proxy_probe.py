"""The worker's probe through Caddy (``runner_address = "proxy"``, the Compose stack), on
the real pinned Caddy: a port nothing listens on is not ready; any answer of the app's
own, a 502 too, is."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest

from devpush.core.config import Settings
from devpush.services import proxy_config
from devpush_dev.ports import free_port
from tests.e2e.support import serve


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
