"""A tiny web server (standard library only): answers every GET with a greeting."""

from __future__ import annotations

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

INFO = Path("build/info.txt")


class Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        built = INFO.read_text().strip() if INFO.exists() else "not built"
        body = f"Hello from devpush! ({built})\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # One line per request on stdout: it shows up in the deployment's runtime log.
        print(f"{self.address_string()} {format % args}", flush=True)


def main() -> None:
    port = int(os.environ.get("PORT", "8000"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Hello)  # noqa: S104 - inside the container
    print(f"Listening on port {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
