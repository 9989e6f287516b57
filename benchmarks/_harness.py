"""What the benchmark scripts share: the log stack, labelled runners, results and plots.

Every script starts the embedded stack (VictoriaLogs + the collector) on loopback by
default; ``--log-store loki`` starts Loki + Alloy (and Alloy's socket-proxy door)
instead, where those binaries are installed (docs/logging.md, "Testing against Loki").
Results go to ``benchmarks/results/<name>.json`` (with the machine and its load) and
``<name>.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import docker

from devpush.core.config import LOG_STORES
from devpush.core.labels import runner_labels
from devpush.models import Project, Team
from devpush.services.runner import runner_log_config
from devpush_dev.binaries import BinaryNotFoundError
from devpush_dev.log_stacks import LogStack, start_log_stack
from devpush_dev.runners import BUSYBOX_IMAGE

RESULTS = Path(__file__).resolve().parent / "results"


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--log-store", choices=LOG_STORES, default="victorialogs")
    return p


#: The store and its collector (devpush_dev/log_stacks.py), as the tests run them.
Stack = LogStack


def bench_dir(exits: ExitStack) -> Path:
    """A temporary folder for one run, removed when ``exits`` closes."""
    return Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="devpush-bench-")))


def bench_project(name: str, slug: str, **columns: Any) -> Project:
    """A new project of the team "Bench", its address label its slug."""
    return Project(
        team=Team(name="Bench", slug="bench"), name=name, slug=slug, host_label=slug, **columns
    )


def start_stack(backend: str, root: Path, exits: ExitStack) -> Stack:
    """The store and its collector over the real engine's json-file logs."""
    try:
        stack = start_log_stack(backend, root)
    except BinaryNotFoundError as exc:
        sys.exit(f"needs the {backend} stack's binaries: {exc}")
    exits.callback(stack.stop)
    return stack


def new_ids() -> dict[str, str]:
    return {
        "project_id": f"bench-{uuid.uuid4().hex[:8]}",
        "environment_id": "env-bench",
        "branch": "main",
        "deployment_id": f"dep-{uuid.uuid4().hex[:12]}",
    }


def writer(*, seconds: float, rate: int, pad: int = 0, every: float = 0.1) -> tuple[list[str], int]:
    """``seq <n>`` lines at about ``rate``/s: a batch of rate*every each ``every`` seconds.

    Slow writers in great numbers (hundreds of runners) take ``every=1``: each batch
    costs three processes, and ten a second per runner would load the machine more than
    the lines do.
    """
    per_batch = max(1, int(rate * every + 1e-9))
    batches = max(1, round(seconds / every))
    filler = f" {'x' * pad}" if pad else ""
    script = (
        f"k=0; while [ $k -lt {batches} ]; do "
        f"seq $((k*{per_batch})) $((k*{per_batch}+{per_batch - 1}))"
        f" | sed 's/^/seq /;s/$/{filler}/'; "
        f"k=$((k+1)); sleep {every:g}; done"
    )
    return ["sh", "-c", script], batches * per_batch


def run_runner(
    client: docker.DockerClient,
    ids: dict[str, str],
    argv: Sequence[str],
    *,
    max_size: str = "10m",
    max_file: int = 5,
    start: bool = True,
    **options: Any,
) -> Any:
    """A labelled runner with the worker's json-file options (created, and started).

    ``options`` go to ``containers.create`` as they are (``network_mode``, ...).
    """
    container = client.containers.create(
        BUSYBOX_IMAGE,
        list(argv),
        labels=runner_labels(**ids),
        **options,
        log_config=runner_log_config(max_size=max_size, max_file=max_file),
    )
    if start:
        container.start()
    return container


def rss_mib(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return float("nan")
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) / 1024 if match else float("nan")


# Process and machine figures from /proc, as the load benchmarks sample them.
TICKS = os.sysconf("SC_CLK_TCK")  # /proc/<pid>/stat clock ticks per second


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy (not idle, not waiting for I/O) since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICKS


def disk_of(path: Path) -> str | None:
    """The /proc/diskstats name of the block device holding ``path``."""
    dev = os.stat(path).st_dev
    wanted = f"{os.major(dev)} {os.minor(dev)}"
    for line in Path("/proc/diskstats").read_text().splitlines():
        major, minor, name = line.split()[:3]
        if f"{major} {minor}" == wanted:
            return name
    return None


def disk_counters(name: str | None) -> tuple[float, float]:
    """(seconds the device was busy, bytes written) since boot; zeros if unknown."""
    for line in Path("/proc/diskstats").read_text().splitlines():
        fields = line.split()
        if name is not None and fields[2] == name:
            return int(fields[12]) / 1000, int(fields[9]) * 512
    return 0.0, 0.0


def dockerd_pid() -> int | None:
    found = subprocess.run(["pidof", "dockerd"], capture_output=True, text=True).stdout.split()
    return int(found[0]) if found else None


class Sampler(threading.Thread):
    """Peak and mean RSS of some processes, and their CPU, the machine's and the disk's."""

    def __init__(self, pids: dict[str, int], disk: str | None = None) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.peak = dict.fromkeys(pids, 0.0)
        self.sums = dict.fromkeys(pids, 0.0)
        self.samples = 0
        self.disk = disk
        self.cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        self.busy0 = machine_busy_seconds()
        self.disk0 = disk_counters(disk)
        self.t0 = time.monotonic()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            for name, pid in self.pids.items():
                rss = rss_mib(pid)
                self.peak[name] = max(self.peak[name], rss)
                self.sums[name] += rss
            self.samples += 1

    def mean(self) -> dict[str, float]:
        return {n: s / max(1, self.samples) for n, s in self.sums.items()}

    def cpu_share(self) -> dict[str, float]:
        """Cores busy on average (1.0 = one core): each process, the machine, the disk."""
        wall = time.monotonic() - self.t0
        shares = {n: (cpu_seconds(p) - self.cpu0[n]) / wall for n, p in self.pids.items()}
        shares["machine"] = (machine_busy_seconds() - self.busy0) / wall
        busy, written = disk_counters(self.disk)
        shares["disk_util"] = (busy - self.disk0[0]) / wall
        shares["disk_mib_s"] = (written - self.disk0[1]) / wall / 2**20
        return shares


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = Path("/proc/meminfo").read_text().split("\n", 1)[0]
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "load_average": os.getloadavg(),
        "note": "a shared machine: other processes ran during the measurements",
    }


def save(name: str, backend: str, rows: list[dict[str, Any]], **extra: Any) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}-{backend}.json"
    payload = {
        "benchmark": name,
        "backend": backend,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "rows": rows,
        **extra,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    def cell(value: Any) -> str:
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    widths = [max(len(c), *(len(cell(r.get(c, ""))) for r in rows)) for c in columns]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += [
        "  ".join(cell(r.get(c, "")).ljust(w) for c, w in zip(columns, widths, strict=True))
        for r in rows
    ]
    return "\n".join(lines)


@contextmanager
def chart(path: Path, *grid: int, dpi: int = 110, **subplots: Any) -> Iterator[Any]:
    """The axes of a new figure (``plt.subplots(*grid, **subplots)``) to draw on; the
    figure is laid out and written to ``path`` when the block ends without an error."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(*grid, **subplots)
    try:
        yield axes
        fig.tight_layout()
        fig.savefig(path, dpi=dpi)
    finally:
        plt.close(fig)
