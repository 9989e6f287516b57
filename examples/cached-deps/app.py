"""A tiny web server (standard library only) that uses its installed dependency."""

from __future__ import annotations

import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / ".deps"))

import demo_dep  # installed by the build into .deps


class Deps(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"cached-deps: demo_dep {demo_dep.VERSION}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    print(f"Listening on port {port}", flush=True)
    ThreadingHTTPServer(("0.0.0.0", port), Deps).serve_forever()  # noqa: S104 - in the runner
