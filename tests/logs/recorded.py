"""Docker json-file logs written by hand, byte for byte as the engine writes them.

A collector pointed at such a directory reads what it would read on a runner host:
``<root>/<id>/<id>-json.log`` with one JSON object per line (``log``, ``stream``,
``attrs`` with the devpush labels, ``time`` in RFC 3339 with nanoseconds). It stands
for a second host (cluster tests) or for shapes no real container can make cheaply
(ten thousand branches). :func:`start_collector_on` starts such a collector.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from devpush.core.labels import runner_labels
from devpush_dev.otelcol import Collector, start_collector
from devpush_dev.ports import free_port

#: Docker splits a line into parts of this many bytes; only the last ends with "\n".
PART_BYTES = 16 * 1024


def docker_time(timestamp_ns: int) -> str:
    """Docker's ``time``: RFC 3339, UTC, nanoseconds with trailing zeros trimmed."""
    seconds, fraction = divmod(timestamp_ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{fraction:09d}".rstrip("0")
    return f"{stamp}.{digits}Z" if digits else f"{stamp}Z"


def attrs(*, project_id: str, environment_id: str, branch: str, deployment_id: str) -> dict:
    """The ``attrs`` Docker copies from the runner's labels (the ``labels`` log option)."""
    return runner_labels(
        project_id=project_id,
        environment_id=environment_id,
        branch=branch,
        deployment_id=deployment_id,
    )


def record(line: str, *, stream: str, labels: dict[str, str], timestamp_ns: int) -> str:
    """One json-file line (``line`` without its "\\n"); Go's encoder escapes <, > and &."""
    body = {
        "log": line + "\n",
        "stream": stream,
        "attrs": labels,
        "time": docker_time(timestamp_ns),
    }
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"


def write_container_log(
    root: Path,
    lines: Iterable[tuple[str, dict[str, str]]],
    *,
    stream: str = "stdout",
    start_ns: int | None = None,
    step_ns: int = 1000,
) -> Path:
    """A new container dir under ``root`` with ``lines`` (text, attrs) in its json-file log.

    Times start at ``start_ns`` (default now) and grow by ``step_ns`` per line. The file
    is written to a temporary name and renamed, so a collector never sees half of it.
    """
    container_id = secrets.token_hex(32)
    folder = root / container_id
    folder.mkdir(parents=True)
    now = time.time_ns() if start_ns is None else start_ns
    path = folder / f"{container_id}-json.log"
    partial = folder / "writing.tmp"
    with partial.open("w", encoding="utf-8") as out:
        for index, (text, labels) in enumerate(lines):
            out.write(
                record(text, stream=stream, labels=labels, timestamp_ns=now + index * step_ns)
            )
    partial.rename(path)
    return path


def start_collector_on(
    containers_dir: Path, *, state_dir: Path, victorialogs_url: str, host: str | None = None
) -> Collector:
    """A ready collector reading ``containers_dir`` (recorded here, or the engine's) into
    ``victorialogs_url``, on free loopback ports; ``host``: the swarm host it stands for."""
    return start_collector(
        state_dir=state_dir,
        containers_dir=containers_dir,
        victorialogs_url=victorialogs_url,
        metrics_port=free_port(),
        health_port=free_port(),
        **({"host": host} if host else {}),
    )
