"""Proxy switches: how many requests fail while a URL moves between two runners.

A redeploy moves the environment's URL to the new runner. Two ways to move it:

- ``reload``: load a new Caddy config with the route in it (POST /load), as devpush
  did before the route resolver. Caddy swaps configs gracefully for requests it has
  accepted, but resets or closes a few connections that arrive in that instant;
- ``resolver``: write the route into the routing table, which Caddy reads through the
  route resolver by DNS (devpush/services/routing.py, devpush/resolver/): Caddy's config never
  changes. This is what the worker does.

The setup: two upstreams (Python's http.server) on loopback, one name ``a.localhost``;
``--clients`` threads request it in a loop, each on a fresh connection (as a stream of
visitors does); the URL moves ``--switches`` times, ``--interval`` apart, alternating
the upstream; and a quiet run with no switch as the baseline.

Rows: per run, the requests sent, those dropped (reset or closed before an answer), those
answered with anything but 200, and drops per 100 switches.

    uv run python -m benchmarks.proxy_switch                      # both ways, 200 switches
    uv run python -m benchmarks.proxy_switch --mode resolver --caddy /path/to/caddy

Needs Caddy (scripts/dev/test-deps.sh installs Debian's). Results:
``benchmarks/results/proxy-switch-<mode>-caddy-<version>.json`` and ``.png``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from huey import MemoryHuey

from benchmarks._harness import figure, free_port, parser, save, table
from devpush.core.config import Settings
from devpush.core.db import create_db_engine, session_factory
from devpush.core.migrate import upgrade_to_head
from devpush.models import Project, Team
from devpush.services import proxy_config, routing
from devpush.services.deployments import create_deployment
from devpush.services.environments import ensure_production_environment
from devpush.workers.queue import DeployQueue
from devpush_dev.caddy import caddy_binary, start_caddy
from devpush_dev.resolver import start_resolver

HOST = "a.localhost"
MODES = ("reload", "resolver")


class Clients:
    """``count`` threads requesting HOST through the proxy, each request a new connection."""

    def __init__(self, url: str, count: int) -> None:
        self.url = url
        self.count = count
        self.outcomes: Counter[str] = Counter()
        self.done = threading.Event()

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

    def run(self, seconds: float, during: Callable[[], None] | None = None) -> Counter[str]:
        self.outcomes.clear()
        self.done.clear()
        threads = [threading.Thread(target=self._run, daemon=True) for _ in range(self.count)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        if during is not None:
            during()
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))
        self.done.set()
        for thread in threads:
            thread.join(timeout=10)
        return Counter(self.outcomes)


def reload_switcher(settings: Settings, upstreams: list[int]) -> Callable[[int], None]:
    """Each switch loads a config whose one route dials the next upstream."""

    def switch(index: int) -> None:
        config = proxy_config.initial_config(settings)
        server = config["apps"]["http"]["servers"][proxy_config.SERVER]
        route = {
            "match": [{"host": [HOST]}],
            "handle": [
                {
                    "handler": "reverse_proxy",
                    "upstreams": [{"dial": f"127.0.0.1:{upstreams[index % 2]}"}],
                }
            ],
            "terminal": True,
        }
        server["routes"].insert(0, route)
        proxy_config.load_config(config, settings)

    return switch


def resolver_switcher(
    settings: Settings, upstreams: list[int], root: Path, exits: ExitStack
) -> Callable[[int], None]:
    """Each switch writes the routing table; Caddy keeps the config it started with."""
    url = f"sqlite:///{root / 'devpush.sqlite3'}"
    upgrade_to_head(url)
    sessions = session_factory(create_db_engine(url))
    with sessions() as session:
        project = Project(
            team=Team(name="Bench", slug="bench"),
            name="A",
            slug="a",
            host_label="a",
            repo_url=str(root),
            default_branch="main",
            runner_image="none",
            start_command="none",
            port=upstreams[0],
        )
        session.add(project)
        ensure_production_environment(session, project=project)
        queue = DeployQueue(MemoryHuey(immediate=False))
        deployments = [
            create_deployment(
                session, project=project, branch=None, created_by=None, queue=queue
            ).id
            for _ in upstreams
        ]
        session.commit()
    resolver = start_resolver(
        database_url=url, address=settings.proxy_resolver_addr, state_dir=root
    )
    exits.callback(resolver.stop)

    def switch(index: int) -> None:
        n = index % 2
        with sessions() as session:
            routing.write_routes(
                session, [routing.Route(HOST, deployments[n], "127.0.0.1", upstreams[n])]
            )
            session.commit()

    return switch


def measure(mode: str, args: Any) -> tuple[list[dict[str, Any]], str]:
    with ExitStack() as exits:
        root = Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="proxy-switch-")))
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
            proxy_admin_url=f"http://127.0.0.1:{free_port()}",
            public_port=free_port(),
            proxy_resolver_addr=f"127.0.0.1:{free_port()}",
        )
        switch = (
            reload_switcher(settings, upstreams)
            if mode == "reload"
            else resolver_switcher(settings, upstreams, root, exits)
        )
        caddy = start_caddy(settings=settings, state_dir=root / "caddy")
        exits.callback(caddy.stop)
        version = subprocess.run(
            [caddy_binary(), "version"], capture_output=True, text=True
        ).stdout.strip()

        def switches() -> None:
            for index in range(args.switches):
                switch(index)
                time.sleep(args.interval)

        switch(0)
        time.sleep(0.5)  # the first route is in place before anyone asks
        url = f"http://127.0.0.1:{settings.public_port}/"
        seconds = args.switches * args.interval
        rows: list[dict[str, Any]] = []
        for name, during in (("quiet", None), ("switching", switches)):
            outcomes = Clients(url, args.clients).run(seconds, during)
            sent = sum(outcomes.values())
            rows.append(
                {
                    "mode": mode,
                    "run": name,
                    "switches": args.switches if during else 0,
                    "seconds": seconds,
                    "requests": sent,
                    "per_s": sent / seconds,
                    "dropped": outcomes["dropped"],
                    "wrong_or_failed": outcomes["wrong"] + outcomes["failed"],
                    "dropped_per_100_switches": 100 * outcomes["dropped"] / args.switches,
                    "dropped_share": outcomes["dropped"] / max(sent, 1),
                }
            )
    return rows, version.split()[0]


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--mode", choices=(*MODES, "both"), default="both")
    p.add_argument("--switches", type=int, default=200)
    p.add_argument("--interval", type=float, default=0.1, help="seconds between switches")
    p.add_argument("--clients", type=int, default=2)
    p.add_argument("--caddy", help="a caddy binary (default: caddy on PATH)")
    p.add_argument("--label", help="the Caddy version in the results' name (default: asked)")
    args = p.parse_args()
    if args.caddy:
        os.environ["PATH"] = f"{Path(args.caddy).resolve().parent}:{os.environ['PATH']}"

    for mode in MODES if args.mode == "both" else (args.mode,):
        rows, version = measure(mode, args)
        label = args.label or version
        print(f"Caddy {label}, {mode}: {args.clients} clients, a switch every {args.interval:g} s")
        print(table(rows, list(rows[0])))
        path = save(
            "proxy-switch", f"{mode}-caddy-{label}", rows, caddy=label, clients=args.clients
        )
        plt = figure()
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.bar([r["run"] for r in rows], [r["dropped"] for r in rows], color=["#888", "#c44"])
        ax.set_ylabel("requests dropped")
        ax.set_title(
            f"Caddy {label}, {mode}: {rows[1]['dropped']} of {rows[1]['requests']} "
            f"requests dropped over {args.switches} switches",
            fontsize=9,
        )
        fig.tight_layout()
        fig.savefig(path.with_suffix(".png"), dpi=100)
        print(f"results: {path}")


if __name__ == "__main__":
    main()
