"""Proxy swaps: how many requests Caddy drops while the worker loads new routes.

Every change to which deployments run is one config load into Caddy (POST /load, see
app/services/routing.py). Caddy swaps configs gracefully for requests it has accepted, but
a few connections that arrive in the instant of a swap are reset or closed before any
answer. This measures that share on this machine's Caddy (or ``--caddy``):

- two upstreams (Python's http.server) on loopback, one route ``a.localhost``;
- ``--clients`` threads request it in a loop, each on a fresh connection (as a stream of
  visitors does);
- the route is loaded ``--swaps`` times, ``--interval`` apart, alternating the upstream
  (what a redeploy does), and once more with no load as the baseline.

Rows: per run, the requests sent, those dropped (reset or closed before an answer), those
answered with anything but 200, and drops per 100 swaps.

    uv run python -m benchmarks.proxy_reload                      # 200 swaps, 20 s quiet
    uv run python -m benchmarks.proxy_reload --caddy /path/to/caddy --swaps 100

Needs Caddy (scripts/dev/test-deps.sh installs Debian's). Results:
``benchmarks/results/proxy-reload-caddy-<version>.json`` and ``.png``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from app.core.config import Settings
from app.local.caddy import caddy_binary, start_caddy
from app.services import routing
from benchmarks._harness import figure, free_port, parser, save, table

HOST = "a.localhost"


class Clients:
    """``count`` threads requesting HOST through the proxy, each request a new connection."""

    def __init__(self, url: str, count: int) -> None:
        self.url = url
        self.outcomes: Counter[str] = Counter()
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(count)]

    def _run(self) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(timeout=5, limits=limits) as client:
            while not self.done.is_set():
                try:
                    response = client.get(self.url, headers={"Host": HOST})
                except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
                    self.outcomes["dropped"] += 1
                except httpx.HTTPError:
                    self.outcomes["failed"] += 1
                else:
                    self.outcomes["ok" if response.status_code == 200 else "wrong"] += 1

    def run(self, seconds: float, during: Any = None) -> Counter[str]:
        self.outcomes.clear()
        self.done.clear()
        for thread in self.threads:
            thread.start()
        started = time.monotonic()
        if during is not None:
            during()
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))
        self.done.set()
        for thread in self.threads:
            thread.join(timeout=10)
        return Counter(self.outcomes)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--swaps", type=int, default=200)
    p.add_argument("--interval", type=float, default=0.1, help="seconds between swaps")
    p.add_argument("--clients", type=int, default=2)
    p.add_argument("--caddy", help="a caddy binary (default: caddy on PATH)")
    p.add_argument("--label", help="the Caddy version in the results' name (default: asked)")
    args = p.parse_args()
    if args.caddy:
        os.environ["PATH"] = f"{Path(args.caddy).resolve().parent}:{os.environ['PATH']}"

    with ExitStack() as exits:
        root = Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="proxy-reload-")))
        upstreams = [free_port(), free_port()]
        for port in upstreams:
            server = subprocess.Popen(
                [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                cwd=root,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            exits.callback(server.wait)
            exits.callback(server.terminate)
        settings = Settings(
            proxy_admin_url=f"http://127.0.0.1:{free_port()}", public_port=free_port()
        )
        caddy = start_caddy(settings=settings, state_dir=root / "caddy")
        exits.callback(caddy.stop)
        version = subprocess.run(
            [caddy_binary(), "version"], capture_output=True, text=True
        ).stdout.strip()

        def load(index: int) -> None:
            route = routing.Route(HOST, f"127.0.0.1:{upstreams[index % 2]}")
            routing.load_config(routing.build_config([route], settings), settings)

        def swaps() -> None:
            for index in range(args.swaps):
                load(index)
                time.sleep(args.interval)

        load(0)
        time.sleep(0.5)  # the first config is in place before anyone asks
        url = f"http://127.0.0.1:{settings.public_port}/"
        seconds = args.swaps * args.interval
        rows: list[dict[str, Any]] = []
        for name, during in (("quiet", None), ("swapping", swaps)):
            outcomes = Clients(url, args.clients).run(seconds, during)
            sent = sum(outcomes.values())
            rows.append(
                {
                    "run": name,
                    "swaps": args.swaps if during else 0,
                    "seconds": seconds,
                    "requests": sent,
                    "per_s": sent / seconds,
                    "dropped": outcomes["dropped"],
                    "wrong_or_failed": outcomes["wrong"] + outcomes["failed"],
                    "dropped_per_100_swaps": 100 * outcomes["dropped"] / args.swaps,
                    "dropped_share": outcomes["dropped"] / max(sent, 1),
                }
            )

    label = args.label or version.split()[0]
    print(f"Caddy {label}, {args.clients} clients, a swap every {args.interval:g} s")
    print(table(rows, list(rows[0])))
    path = save("proxy-reload", f"caddy-{label}", rows, caddy=label, clients=args.clients)
    plt = figure()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar([r["run"] for r in rows], [r["dropped"] for r in rows], color=["#888", "#c44"])
    ax.set_ylabel("requests dropped")
    ax.set_title(
        f"Caddy {label}: {rows[1]['dropped']} of {rows[1]['requests']} requests "
        f"dropped over {args.swaps} swaps"
    )
    fig.tight_layout()
    fig.savefig(path.with_suffix(".png"), dpi=100)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
