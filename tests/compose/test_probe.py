"""The Compose suite's probe counts what a visitor would notice: a refused connection and a
wrong status are failures, each recorded."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.compose.probe import probing
from tests.compose.stack import free_port

HOST = "hello.apps.test"


class Flaky(BaseHTTPRequestHandler):
    """200, except every third request: 502 (as Caddy answers when no upstream is found)."""

    def do_GET(self) -> None:
        number = int(self.path.rsplit("-", 1)[1])
        self.send_response(502 if number % 3 == 0 else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for HOST that is its own root (the probe trusts only it); its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "root.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    root, key = self_signed(tmp_path)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(root, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def test_a_wrong_status_is_a_failure(server: tuple[Path, int]) -> None:
    root, port = server
    with probing(root, HOST, port) as probe:
        time.sleep(0.5)
    assert probe.count >= 6
    assert len(probe.failures) == probe.count // 3
    assert all(failure.endswith(": 502") for failure in probe.failures)


def test_a_refused_connection_is_a_failure(tmp_path: Path) -> None:
    root, _ = self_signed(tmp_path)
    with probing(root, HOST, free_port()) as probe:
        time.sleep(0.2)
    assert probe.count >= 2
    assert len(probe.failures) == probe.count
    assert "ConnectError" in probe.failures[0]
