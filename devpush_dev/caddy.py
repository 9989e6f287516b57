"""Run Caddy, the reverse proxy, as a child process on loopback (the local run, tests).

Caddy starts with the config :func:`devpush.services.proxy_config.build_config` makes: its admin
endpoint and one server that asks the route resolver (``devpush_dev.resolver_process``) where
each host's runner is. That config never changes with the routes. Compose starts the
official image with a 404-only config (``Docker/caddy/initial.json``) that the worker
replaces with the same one, and Caddy resumes it after a restart.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from devpush.core.config import Settings
from devpush.services import proxy_config
from devpush_dev import binaries, processes
from devpush_dev.ports import free_port

#: What builds the pinned Caddy into the cache (scripts/dev/test-deps.sh runs it).
BUILD_HINT: Final = "scripts/dev/go-tool.sh caddy"
#: Names another caddy binary to run instead (benchmarks/proxy_switch.py --caddy).
BINARY_ENV: Final = "DEVPUSH_CADDY_BIN"


def caddy_binary() -> str:
    """The Caddy that Compose pins (``CADDY_VERSION``), built into the cache: the local
    run and the tests run the version production runs (the distribution's is older and
    lacks the resolver grace period the config sets)."""
    if explicit := os.environ.get(BINARY_ENV):  # another Caddy, to compare (benchmarks)
        return explicit
    version = binaries.read_versions()["CADDY_VERSION"]
    path = binaries.cache_dir() / "bin" / f"caddy-{version}"
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise binaries.BinaryNotFoundError(
            f"caddy {version} not found at {path}. Build it with {BUILD_HINT}."
        )
    return str(path)


def loopback_settings(**fields: Any) -> Settings:
    """Settings for a Caddy on free loopback ports (its admin API, the public port, the
    404 and the redirect servers) that asks two route resolvers on free ports; ``fields``
    add to them or replace them."""
    ports: dict[str, Any] = {
        "proxy_admin_url": f"http://127.0.0.1:{free_port()}",
        "public_port": free_port(),
        "proxy_resolver_addr": f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}",
        "proxy_not_found_port": free_port(),
        "proxy_redirect_port": free_port(),
    }
    return Settings(**(ports | fields))


# Same shape as the other starters in devpush_dev on purpose (binary, argv, a handle with
# its URLs, start): each differs in flags, ports and readiness; processes.start_ready is shared.
@dataclass
class Caddy(processes.ChildHandle):
    """A running proxy; ``settings`` say where it listens, where its admin API is and
    which resolver it asks."""

    settings: Settings

    @property
    def http_url(self) -> str:
        """Plain HTTP: the public port, or with https the port that redirects to it."""
        if self.settings.public_scheme == "https":
            return f"http://{self.settings.proxy_bind}:{self.settings.proxy_http_port}"
        return f"http://{self.settings.proxy_bind}:{self.settings.public_port}"


def start_caddy(*, settings: Settings, state_dir: Path, timeout: float = 15.0) -> Caddy:
    """Write the config into ``state_dir``, start ``caddy run``, wait for its admin API.

    Caddy's own state (its data and config dirs) stays in ``state_dir`` too. With
    ``public_scheme=https`` it gets certificates from ``acme_ca_url`` (tests: Pebble).
    """
    if not settings.proxy_admin_url.startswith("http://"):
        raise processes.ProcessError("the local proxy's admin API listens on http://host:port")
    state_dir.mkdir(parents=True, exist_ok=True)
    config_path = state_dir / "caddy.json"
    config_path.write_text(json.dumps(proxy_config.build_config(settings), indent=2))
    child = processes.start_ready(
        "caddy",
        [caddy_binary(), "run", "--config", str(config_path)],
        state_dir=state_dir,
        log_name="caddy.log",
        ready_url=f"{settings.proxy_admin_url.rstrip('/')}/config/",
        timeout=timeout,
        env={
            "HOME": str(state_dir),
            "XDG_DATA_HOME": str(state_dir / "data"),
            "XDG_CONFIG_HOME": str(state_dir / "config"),
        },
    )
    return Caddy(child=child, settings=settings)
