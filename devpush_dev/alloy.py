"""Run Alloy from the repository config, on a loopback port, with a given state dir.

``--storage.path`` holds the positions file of loki.source.file; reusing the same state
dir across restarts is what lets Alloy resume where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, NotRequired, TypedDict, Unpack

from devpush_dev import processes
from devpush_dev.binaries import REPO_ROOT, pinned_binary
from devpush_dev.otelcol import access_logs_glob
from devpush_dev.processes import ProcessSpec

CONFIG: Final = REPO_ROOT / "Docker" / "alloy" / "config.alloy"
#: Environment variables config.alloy reads (defaults there are the Compose values).
DOCKER_HOST_ENV: Final = "ALLOY_DOCKER_HOST"
LOKI_PUSH_URL_ENV: Final = "ALLOY_LOKI_PUSH_URL"
ACCESS_LOGS_ENV: Final = "ALLOY_PROXY_ACCESS_LOGS"


def alloy_binary() -> Path:
    return pinned_binary("alloy", "ALLOY")


def alloy_argv(*, binary: Path, state_dir: Path, http_port: int) -> list[str]:
    return [
        str(binary),
        "run",
        str(CONFIG),
        f"--storage.path={state_dir / 'data'}",
        f"--server.http.listen-addr=127.0.0.1:{http_port}",
    ]


class AlloyPlace(TypedDict):
    """Where Alloy keeps its positions, answers, finds runners and sends their lines."""

    state_dir: Path
    http_port: int
    docker_host: str
    loki_push_url: str
    #: The file the proxy writes its access log to (request logs); by default one in
    #: ``state_dir`` that no proxy writes.
    access_log: NotRequired[Path]


# Same shape as the other starters in devpush_dev on purpose (binary, argv, a handle with
# its URLs, start): each differs in flags, ports and readiness; processes.LoopbackServer
# and processes.start_ready are shared.
@dataclass
class Alloy(processes.LoopbackServer):
    state_dir: Path


def alloy_process(*, timeout: float = 60.0, **place: Unpack[AlloyPlace]) -> ProcessSpec:
    """Alloy, ready when ``/-/ready`` answers (every component evaluated and running)."""
    binary, port = alloy_binary(), place["http_port"]
    return processes.ProcessSpec(
        name="alloy",
        argv=alloy_argv(binary=binary, state_dir=place["state_dir"], http_port=port),
        state_dir=place["state_dir"],
        log_name="alloy.log",
        ready_url=f"http://127.0.0.1:{port}/-/ready",
        timeout=timeout,
        env={
            DOCKER_HOST_ENV: place["docker_host"],
            LOKI_PUSH_URL_ENV: place["loki_push_url"],
            ACCESS_LOGS_ENV: access_logs_glob(
                place.get("access_log", place["state_dir"] / "proxy-access" / "access.log")
            ),
        },
    )


def start_alloy(*, timeout: float = 60.0, **place: Unpack[AlloyPlace]) -> Alloy:
    """Start :func:`alloy_process` and wait until it is ready."""
    child = alloy_process(timeout=timeout, **place).start()
    return Alloy(child=child, port=place["http_port"], state_dir=place["state_dir"])
