"""Run Loki from the repository config, on loopback ports, with its data in a given dir.

The same ``Docker/loki/config.yaml`` serves Compose and tests: it reads its data dir from
``${LOKI_DATA_DIR:-/loki}`` (so it needs ``-config.expand-env=true``), and listen
addresses and ports come from flags, which override the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from devpush_dev import processes
from devpush_dev.binaries import REPO_ROOT, pinned_binary

CONFIG: Final = REPO_ROOT / "Docker" / "loki" / "config.yaml"
DATA_DIR_ENV: Final = "LOKI_DATA_DIR"


def loki_binary() -> Path:
    return pinned_binary("loki", "LOKI")


def loki_argv(*, binary: Path, http_port: int, grpc_port: int) -> list[str]:
    return [
        str(binary),
        f"-config.file={CONFIG}",
        "-config.expand-env=true",
        "-server.http-listen-address=127.0.0.1",
        f"-server.http-listen-port={http_port}",
        "-server.grpc-listen-address=127.0.0.1",
        f"-server.grpc-listen-port={grpc_port}",
    ]


# Same shape as the other starters in devpush_dev on purpose (binary, argv, a handle with
# its URLs, start): each differs in flags, ports and readiness; processes.LoopbackServer
# and processes.start_ready are shared.
@dataclass
class Loki(processes.LoopbackServer):
    @property
    def push_url(self) -> str:
        return f"{self.url}/loki/api/v1/push"


def loki_process(
    *, data_dir: Path, http_port: int, grpc_port: int, timeout: float = 90.0
) -> processes.ProcessSpec:
    """Loki, ready when ``/ready`` answers (the ingester joins its ring first)."""
    return processes.ProcessSpec(
        name="loki",
        argv=loki_argv(binary=loki_binary(), http_port=http_port, grpc_port=grpc_port),
        state_dir=data_dir,
        log_name="loki.log",
        ready_url=f"http://127.0.0.1:{http_port}/ready",
        timeout=timeout,
        env={DATA_DIR_ENV: str(data_dir)},
    )


def start_loki(*, data_dir: Path, http_port: int, grpc_port: int, timeout: float = 90.0) -> Loki:
    """Start :func:`loki_process` and wait until it is ready."""
    spec = loki_process(
        data_dir=data_dir, http_port=http_port, grpc_port=grpc_port, timeout=timeout
    )
    return Loki(child=spec.start(), port=http_port)
