"""Run VictoriaLogs, the log store, on a loopback port with its data in a given dir.

VictoriaLogs takes all its settings as flags (no config file). Production runs the
same release (VICTORIALOGS_VERSION in versions.env) and must pass the same flags as
``victorialogs_argv`` besides the data path and listen address.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from devpush_dev import processes
from devpush_dev.binaries import pinned_binary

BUILD_SCRIPT: Final = "scripts/dev/logstack.sh"


def victorialogs_binary() -> Path:
    return pinned_binary("victoria-logs", "VICTORIALOGS", build_hint=BUILD_SCRIPT)


def victorialogs_argv(*, binary: Path, data_dir: Path, http_port: int, retention: str) -> list[str]:
    return [
        str(binary),
        f"-storageDataPath={data_dir}",
        f"-httpListenAddr=127.0.0.1:{http_port}",
        f"-retentionPeriod={retention}",
        # A blank line stays blank: without this, an empty _msg is stored as the text
        # "missing _msg field; see https://docs.victoriametrics.com/...".
        "-defaultMsgValue=",
        # What the store has acknowledged but not yet written to disk is lost when it is
        # killed (SIGKILL, OOM, power): its last seconds; 1s is the minimum (default 5s).
        # The worker puts those lines back from Docker's logs (services/store_repair.py).
        "-inmemoryDataFlushInterval=1s",
    ]


# Same shape as the other starters in devpush_dev on purpose (binary, argv, a handle with
# its URLs, start): each differs in flags, ports and readiness; processes.LoopbackServer
# and processes.start_ready are shared.
@dataclass
class VictoriaLogs(processes.LoopbackServer):
    data_dir: Path


def victorialogs_process(
    *, data_dir: Path, http_port: int, retention: str = "31d", timeout: float = 60.0
) -> processes.ProcessSpec:
    """VictoriaLogs on ``http_port``, ready when ``/health`` answers; it logs to
    ``victoria-logs.log``. Restarting with the same ``data_dir`` keeps what was stored."""
    return processes.ProcessSpec(
        name="victorialogs",
        argv=victorialogs_argv(
            binary=victorialogs_binary(),
            data_dir=data_dir / "data",
            http_port=http_port,
            retention=retention,
        ),
        state_dir=data_dir,
        log_name="victoria-logs.log",
        ready_url=f"http://127.0.0.1:{http_port}/health",
        timeout=timeout,
    )


def start_victorialogs(
    *, data_dir: Path, http_port: int, retention: str = "31d", timeout: float = 60.0
) -> VictoriaLogs:
    """Start :func:`victorialogs_process` and wait until it is ready."""
    spec = victorialogs_process(
        data_dir=data_dir, http_port=http_port, retention=retention, timeout=timeout
    )
    return VictoriaLogs(child=spec.start(), port=http_port, data_dir=data_dir)
