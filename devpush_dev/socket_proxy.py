"""The Docker socket proxy on loopback: tecnativa's HAProxy rules run by Debian's haproxy.

Compose runs ``tecnativa/docker-socket-proxy`` with ``Docker/docker-proxy/<door>.env``.
Here the same env file feeds :func:`render_config`, which writes the frontend of
tecnativa's ``haproxy.cfg`` (v0.3-v0.4 template) unchanged: the same path regexes, the same
``env(FLAG) -m bool`` tests, and the same method rule (without ``POST=1`` only GET and
HEAD pass; everything else gets 403). The flags are pinned with ``setenv`` in the
``global`` section, so the rendered file is self-contained and the caller's environment
cannot widen a door.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypedDict, Unpack
from urllib.parse import urlparse

from devpush_dev import processes

#: The env files of the two doors (one place for the allow-lists).
DOORS_DIR: Final = Path(__file__).resolve().parents[1] / "Docker" / "docker-proxy"
ALLOY_DOOR: Final = DOORS_DIR / "alloy.env"
WORKER_DOOR: Final = DOORS_DIR / "worker.env"
#: The web app's read-only door: its live view follows running runners' logs.
APP_DOOR: Final = DOORS_DIR / "app.env"
#: Doors that stream logs to a live view: HAProxy sends what it gets at once (``option
#: http-no-delay``) instead of holding small writes back to fill packets, which delayed
#: each line of a follow by 0.1-0.2 s (p50 0.15 s through the door, 2 ms without it).
STREAMING_DOORS: Final = frozenset({APP_DOOR})

#: The image's defaults (its Dockerfile ``ENV``): what an env file leaves out.
DEFAULT_FLAGS: Final[dict[str, str]] = {
    "ALLOW_RESTARTS": "0",
    "ALLOW_START": "0",
    "ALLOW_STOP": "0",
    "AUTH": "0",
    "BUILD": "0",
    "COMMIT": "0",
    "CONFIGS": "0",
    "CONTAINERS": "0",
    "DISTRIBUTION": "0",
    "EVENTS": "1",
    "EXEC": "0",
    "GRPC": "0",
    "IMAGES": "0",
    "INFO": "0",
    "NETWORKS": "0",
    "NODES": "0",
    "PING": "1",
    "PLUGINS": "0",
    "POST": "0",
    "SECRETS": "0",
    "SERVICES": "0",
    "SESSION": "0",
    "SWARM": "0",
    "SYSTEM": "0",
    "TASKS": "0",
    "VERSION": "1",
    "VOLUMES": "0",
}

#: Image settings that are not access flags; accepted in an env file, not rendered.
IMAGE_SETTINGS: Final = frozenset({"LOG_LEVEL", "DISABLE_IPV6", "SOCKET_PATH", "BIND_CONFIG"})

_API = r"^(/v[\d\.]+)?"
_ID = r"[a-zA-Z0-9_.-]+"

#: (path regex, flag) in tecnativa's order; the first match allows the request.
ALLOW_RULES: Final[tuple[tuple[str, str], ...]] = (
    (rf"{_API}/containers/{_ID}/((stop)|(restart)|(kill))", "ALLOW_RESTARTS"),
    (rf"{_API}/containers/{_ID}/start", "ALLOW_START"),
    (rf"{_API}/containers/{_ID}/stop", "ALLOW_STOP"),
    *(
        (f"{_API}/{section}", section.upper().lstrip("_"))
        for section in (
            "auth", "build", "commit", "configs", "containers", "distribution", "events",
            "exec", "grpc", "images", "info", "networks", "nodes", "_ping", "plugins",
            "secrets", "services", "session", "swarm", "system", "tasks", "version", "volumes",
        )
    ),
)  # fmt: skip


class ProxyConfigError(ValueError):
    """An env file that does not describe a door."""


def read_flags(env_file: Path) -> dict[str, str]:
    """The access flags of a door: the image defaults overridden by ``env_file``.

    Unknown keys are refused, so a typo cannot silently leave a default in force.
    """
    flags = dict(DEFAULT_FLAGS)
    for number, raw in enumerate(env_file.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise ProxyConfigError(f"{env_file}:{number}: expected KEY=VALUE, got {raw!r}")
        if key in IMAGE_SETTINGS:
            continue
        if key not in DEFAULT_FLAGS:
            raise ProxyConfigError(f"{env_file}:{number}: unknown flag {key!r}")
        if value not in {"0", "1"}:
            # HAProxy's `-m bool` reads the value as an integer: "true" would mean 0.
            raise ProxyConfigError(f"{env_file}:{number}: {key} must be 0 or 1, got {value!r}")
        flags[key] = value
    return flags


def render_config(
    *, flags: dict[str, str], port: int, socket_path: str, no_delay: bool = False
) -> str:
    """HAProxy config: tecnativa's rules, listening on 127.0.0.1:``port`` (``no_delay``:
    a streaming door, see STREAMING_DOORS)."""
    setenv = "\n".join(f"    setenv {key} {flags[key]}" for key in sorted(flags))
    allow = "\n".join(
        f"    http-request allow if {{ path,url_dec -m reg -i {regex} }} {{ env({flag}) -m bool }}"
        for regex, flag in ALLOW_RULES
    )
    return f"""\
# Rendered by devpush_dev/socket_proxy.py from a Docker/docker-proxy/*.env door.
global
    log stdout format raw daemon info
    maxconn 4000
{setenv}

defaults
    mode http
    log global
    option httplog
    option dontlognull
    option http-server-close
{"    option http-no-delay" + chr(10) if no_delay else ""}    option redispatch
    retries 3
    timeout http-request 10s
    timeout queue 1m
    timeout connect 10s
    timeout client 10m
    timeout server 10m
    timeout http-keep-alive 10s
    timeout check 10s
    maxconn 3000

backend dockerbackend
    server dockersocket {socket_path}

# An events stream stays open while nothing happens: a day, not tecnativa's 0 ("no
# timeout"), which HAProxy warns about as a missing timeout.
backend docker-events
    server dockersocket {socket_path}
    timeout server 24h

frontend dockerfrontend
    bind 127.0.0.1:{port}
    http-request deny unless METH_GET || {{ env(POST) -m bool }}
{allow}
    http-request deny
    default_backend dockerbackend

    use_backend docker-events if {{ path,url_dec -m reg -i {_API}/events }}
"""


def socket_path_from_docker_host(docker_host: str) -> str:
    """``unix:///var/run/docker.sock`` -> ``/var/run/docker.sock``."""
    parsed = urlparse(docker_host)
    if parsed.scheme != "unix" or not parsed.path:
        raise ProxyConfigError(f"the proxy forwards to a unix socket, not {docker_host!r}")
    return parsed.path


def haproxy_binary() -> str:
    return processes.on_path("haproxy")


# Same shape as the other starters in devpush_dev on purpose (binary, argv, a handle with
# its URLs, start): each differs in flags, ports and readiness; processes.LoopbackServer
# and processes.start_ready are shared.
@dataclass
class SocketProxy(processes.LoopbackServer):
    """A running door; ``url`` is what a Docker client uses as its host."""

    scheme = "tcp"

    config_path: Path

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class DoorPlace(TypedDict):
    """Which door (its env file), on which port, with its state where, to which socket."""

    env_file: Path
    port: int
    state_dir: Path
    socket_path: str


def door_process(*, timeout: float = 15.0, **place: Unpack[DoorPlace]) -> processes.ProcessSpec:
    """Render the door's config into ``state_dir``; haproxy on it, ready when ``/_ping``
    answers."""
    state_dir, port = place["state_dir"], place["port"]
    name = f"socket-proxy-{place['env_file'].stem}"
    state_dir.mkdir(parents=True, exist_ok=True)
    config_path = state_dir / f"{name}.cfg"
    flags = read_flags(place["env_file"])
    no_delay = place["env_file"] in STREAMING_DOORS
    config_path.write_text(
        render_config(flags=flags, port=port, socket_path=place["socket_path"], no_delay=no_delay)
    )
    return processes.ProcessSpec(
        name=name,
        argv=[haproxy_binary(), "-db", "-f", str(config_path)],
        state_dir=state_dir,
        log_name=f"{name}.log",
        ready_url=f"http://127.0.0.1:{port}/_ping",
        timeout=timeout,
    )


def start_socket_proxy(*, timeout: float = 15.0, **place: Unpack[DoorPlace]) -> SocketProxy:
    """Start :func:`door_process` and wait until it is ready."""
    spec = door_process(timeout=timeout, **place)
    return SocketProxy(child=spec.start(), port=place["port"], config_path=Path(spec.argv[-1]))
