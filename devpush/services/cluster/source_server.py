"""Hands each runner task its deployment's source once, over HTTP (swarm mode).

A swarm service has no "upload, then start" step (no ``put_archive`` before the task
starts, and the task may start on any host), so the task fetches its source when it
starts: the worker offers the archive under a one-time token, the task's command asks
``GET /source`` with ``Authorization: Bearer <token>`` and unpacks the answer. A token
answers once per task of the deployment (its replicas) and expires after ``ttl``; the
token is never in a URL or a log line.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final

#: Where a task asks for its source.
SOURCE_PATH: Final = "/source"
_BEARER: Final = "Bearer "


@dataclass(slots=True)
class _Offer:
    archive: bytes
    expires_at: float
    #: Fetches left: one per task of the deployment (its replicas).
    left: int = 1


class SourceOffers:
    """Archives waiting for their task, by token (thread-safe)."""

    def __init__(self) -> None:
        self._offers: dict[str, _Offer] = {}
        self._lock = threading.Lock()

    def offer(self, archive: bytes, *, ttl_seconds: float, fetches: int = 1) -> str:
        """Keep ``archive`` for ``fetches`` fetches (one per replica) within ``ttl_seconds``;
        the token that takes it."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._drop_expired()
            self._offers[token] = _Offer(archive, time.monotonic() + ttl_seconds, fetches)
        return token

    def take(self, token: str) -> bytes | None:
        """The archive for ``token``, as many times as offered; None for an unknown, taken
        or expired token."""
        with self._lock:
            self._drop_expired()
            offer = self._offers.get(token)
            if offer is None:
                return None
            offer.left -= 1
            if offer.left <= 0:
                del self._offers[token]
        return offer.archive

    def waiting(self) -> int:
        with self._lock:
            self._drop_expired()
            return len(self._offers)

    def _drop_expired(self) -> None:
        now = time.monotonic()
        for token in [t for t, o in self._offers.items() if o.expires_at <= now]:
            del self._offers[token]


def _handler(offers: SourceOffers) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            auth = self.headers.get("Authorization", "")
            archive = None
            if self.path == SOURCE_PATH and auth.startswith(_BEARER):
                archive = offers.take(auth.removeprefix(_BEARER).strip())
            if archive is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-tar")
            self.send_header("Content-Length", str(len(archive)))
            self.end_headers()
            self.wfile.write(archive)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the request line holds no secret, but the worker logs what matters

    return Handler


class SourceServer:
    """A threaded HTTP server for :class:`SourceOffers` on ``host:port`` (0: a free port)."""

    def __init__(self, host: str, port: int = 0) -> None:
        self.offers = SourceOffers()
        self._server = ThreadingHTTPServer((host, port), _handler(self.offers))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="source-server", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{SOURCE_PATH}"

    def start(self) -> SourceServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class SourceHandout:
    """The worker's source server, started at its first offer (a worker that deploys
    nothing in swarm mode opens no port); thread-safe, one per worker process."""

    def __init__(self) -> None:
        self._server: SourceServer | None = None
        self._lock = threading.Lock()

    def offer(
        self, address: str, archive: bytes, *, ttl_seconds: float, fetches: int = 1
    ) -> tuple[str, str]:
        """Offer ``archive`` on the server at ``address`` (``host:port``), for ``fetches``
        tasks: its URL and token."""
        with self._lock:
            if self._server is None:
                host, sep, port = address.rpartition(":")
                if not sep or not host or not port.isdigit():
                    raise ValueError(
                        f"the source server's address is host:port, not {address!r}"
                        " (DEVPUSH_SWARM_SOURCE_ADDRESS)"
                    )
                self._server = SourceServer(host, int(port)).start()
            server = self._server
        return server.url, server.offers.offer(archive, ttl_seconds=ttl_seconds, fetches=fetches)

    def stop(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.stop()
                self._server = None
