"""Run the OpenTelemetry Collector from the repository config, on loopback ports.

The same ``Docker/otelcol/config.yaml`` serves production (the contrib image) and
local runs: it reads the variables below, whose defaults there are the Compose values.
The state dir holds the file_storage extension's data: the filelog receiver's read
positions and the exporter's queue. Reusing it across restarts is what lets the
collector resume where it stopped, with nothing lost and nothing sent twice.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final, NotRequired, TypedDict, Unpack

from devpush_dev import processes
from devpush_dev.binaries import REPO_ROOT, pinned_binary
from devpush_dev.processes import ProcessSpec
from devpush_dev.victorialogs import BUILD_SCRIPT

CONFIG: Final = REPO_ROOT / "Docker" / "otelcol" / "config.yaml"


class CollectorEnv(StrEnum):
    """The environment variables config.yaml reads, each with its default there."""

    STATE_DIR = "DEVPUSH_COLLECTOR_STATE_DIR"
    CONTAINERS_DIR = "DEVPUSH_DOCKER_CONTAINERS_DIR"
    VICTORIALOGS_URL = "DEVPUSH_VICTORIALOGS_URL"
    METRICS_HOST = "DEVPUSH_COLLECTOR_METRICS_HOST"
    METRICS_PORT = "DEVPUSH_COLLECTOR_METRICS_PORT"
    HEALTH_PORT = "DEVPUSH_COLLECTOR_HEALTH_PORT"
    #: The proxy's access log files (a glob: the file Caddy writes and the ones it rolled).
    ACCESS_LOGS = "DEVPUSH_PROXY_ACCESS_LOGS"
    #: Swarm mode: the host name each runner line is stored with (devpush/core/labels.py,
    #: HOST_LABEL); unset on one server. An operator's condition reads it (``env("…")``).
    HOST = "DEVPUSH_COLLECTOR_HOST"
    #: The runners' log receiver's poll interval, the exporter's batch flush and its queue
    #: size (bytes): the benchmarks and the queue's test set them.
    POLL_INTERVAL = "DEVPUSH_COLLECTOR_POLL_INTERVAL"
    FLUSH_TIMEOUT = "DEVPUSH_COLLECTOR_FLUSH_TIMEOUT"
    QUEUE_BYTES = "DEVPUSH_COLLECTOR_QUEUE_BYTES"


def access_logs_glob(access_log: Path) -> str:
    """What the collector tails for Caddy's ``access_log``: it and its rolled files
    (Caddy names them ``<stem>-<time><suffix>`` beside it)."""
    return str(access_log.parent / f"{access_log.stem}*{access_log.suffix}")


def engine_containers_dir() -> Path:
    """Where the Docker engine keeps ``<id>/<id>-json.log``: what the collector tails."""
    root = subprocess.run(
        ["docker", "info", "-f", "{{.DockerRootDir}}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    return Path(root) / "containers"


#: The collector's source: its component list (main.go) and module pins.
SOURCE_DIR: Final = REPO_ROOT / "scripts" / "dev" / "otelcol"


def collector_manifest() -> str:
    """The build's cache key beside the version, as scripts/dev/logstack.sh computes it: a
    component added to main.go (the drains' tests need the otlp receiver) builds anew."""
    digest = hashlib.sha256()
    for name in ("main.go", "go.mod", "go.sum"):
        digest.update((SOURCE_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def collector_binary() -> Path:
    return pinned_binary(
        "otelcol", "OTELCOL", build_hint=BUILD_SCRIPT, manifest=collector_manifest()
    )


#: The collector's feature gates, here and in docker-compose.victorialogs.yml's command
#: (tests/compose/test_compose_victorialogs.py checks that they agree). The file receiver
#: otherwise hands lines on from an in-memory buffer (up to 100 lines or 100 ms) after it
#: saved its read positions past them: a SIGKILL in between lost those lines for good.
FEATURE_GATES = ("stanza.synchronousLogEmitter",)


def collector_argv(*, binary: Path) -> list[str]:
    return [str(binary), f"--config={CONFIG}", f"--feature-gates={','.join(FEATURE_GATES)}"]


class CollectorPlace(TypedDict):
    """Where a collector keeps its state, what it reads, where it sends and answers."""

    state_dir: Path
    containers_dir: Path
    victorialogs_url: str
    metrics_port: int
    health_port: int
    #: The file the proxy writes its access log to (request logs); by default one in
    #: ``state_dir`` that no proxy writes.
    access_log: NotRequired[Path]
    #: Swarm mode: the host it stands for (its lines' ``host``); none by default.
    host: NotRequired[str]


def collector_env(**place: Unpack[CollectorPlace]) -> dict[str, str]:
    return {
        CollectorEnv.STATE_DIR: str(place["state_dir"]),
        CollectorEnv.CONTAINERS_DIR: str(place["containers_dir"]),
        CollectorEnv.VICTORIALOGS_URL: place["victorialogs_url"].rstrip("/"),
        # Loopback: a local collector's metrics are for this host's app only.
        CollectorEnv.METRICS_HOST: "127.0.0.1",
        CollectorEnv.METRICS_PORT: str(place["metrics_port"]),
        CollectorEnv.HEALTH_PORT: str(place["health_port"]),
        CollectorEnv.ACCESS_LOGS: access_logs_glob(
            place.get("access_log", place["state_dir"] / "proxy-access" / "access.log")
        ),
        **({CollectorEnv.HOST: place["host"]} if "host" in place else {}),
    }


# Same shape as the other starters in devpush_dev on purpose (binary, argv, a handle with
# its URLs, start): each differs in flags, ports and readiness; processes.start_ready is shared.
@dataclass
class Collector(processes.ChildHandle):
    metrics_port: int
    health_port: int
    state_dir: Path

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port}/"


def collector_process(*, timeout: float = 60.0, **place: Unpack[CollectorPlace]) -> ProcessSpec:
    """The collector, ready when its health check answers 200 (pipelines running); its
    own log goes to ``otelcol.log`` in ``state_dir`` (appended across restarts)."""
    return processes.ProcessSpec(
        name="collector",
        argv=collector_argv(binary=collector_binary()),
        state_dir=place["state_dir"],
        log_name="otelcol.log",
        ready_url=f"http://127.0.0.1:{place['health_port']}/",
        timeout=timeout,
        env=collector_env(**place),
    )


def start_collector(*, timeout: float = 60.0, **place: Unpack[CollectorPlace]) -> Collector:
    """Start :func:`collector_process` and wait until it is ready."""
    child = collector_process(timeout=timeout, **place).start()
    return Collector(
        child=child,
        metrics_port=place["metrics_port"],
        health_port=place["health_port"],
        state_dir=place["state_dir"],
    )
