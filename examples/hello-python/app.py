"""A tiny web server (standard library only): answers every GET with a greeting."""

from __future__ import annotations

import logging
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

INFO = Path("build/info.txt")
# One line per request on stdout, where the deployment's runtime log shows it. logging
# writes each line whole under its lock; print() from the server's threads writes the text
# and the newline apart, so two requests at once could share a line.
logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
log = logging.getLogger("hello")


class Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        built = INFO.read_text().strip() if INFO.exists() else "not built"
        body = f"Hello from devpush! ({built})\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self) -> str:
        # The client as the proxy saw it: devpush's proxy (Caddy) sets X-Forwarded-For to
        # the address it was reached from, so this app logs what the request logs show
        # rather than the proxy's own address.
        forwarded = (self.headers.get("X-Forwarded-For") or "").split(",")[0].strip()
        return forwarded or self.client_address[0]

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Hello)  # noqa: S104 - inside the container
    log.info("Listening on port %d", port)
    server.serve_forever()


if __name__ == "__main__":
    main()
