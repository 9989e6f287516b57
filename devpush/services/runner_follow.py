"""A running deployment's lines straight from Docker, for the live view.

The store shows a line 0.2-3 s after the runner prints it (the collector's poll and
batch, the store's flush, the tail's poll); Docker's own log API shows it at once. For a
query of one deployment the shared tail (``devpush/services/tail_hub.py``) follows its
running runners here as well, and the store tail beside it still drives the cursors and
delivers what this misses (request entries, a line of a runner started later, anything
after a broken follow).

Reads only: ``GET /containers/json`` (filtered by the project's *and* the deployment's
labels, so a query of one project never reaches another project's runner) and ``GET
/containers/<id>/logs``, through the app's read-only socket-proxy door
(``log_follow_docker_host``, ``Docker/docker-proxy/app.env``). An entry is built as the
collector stores the line (``Docker/otelcol/config.yaml``): Docker's time to the
nanosecond, the text without its newline, the runner's non-empty labels and its stream,
so its id is the stored entry's id and the tail drops the second copy.
"""

from __future__ import annotations

import json
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import urlparse

import httpx

from devpush.core.errors import Unavailable
from devpush.core.labels import (
    DEPLOYMENT_LABEL,
    LABEL_PREFIX,
    LOG_LABELS,
    PROJECT_LABEL,
    STREAM_LABEL,
)
from devpush.logs.entries import LogEntry
from devpush.logs.query import LogQuery
from devpush.units import SECOND_NS

#: Docker's multiplexed stream: 1 stdout, 2 stderr; an 8-byte header before each frame.
_STREAMS: Final = {1: "stdout", 2: "stderr"}
_HEADER: Final = struct.Struct(">BxxxI")
#: The fixed-width time Docker prefixes with ``timestamps=1`` (RFC3339NanoFixed) + a space.
_TIME_WIDTH: Final = len("2006-01-02T15:04:05.000000000Z ")


class FollowUnavailable(Unavailable):
    """Docker could not be asked (door down, refused): the store tail carries on alone."""


def follows(query: LogQuery) -> bool:
    """Whether Docker can give exactly ``query``'s runner lines: one deployment, no filter
    on the text, level, environment or branch (the store applies those)."""
    return (
        query.deployment_id is not None
        and query.stream in (None, "stdout", "stderr")
        and query.level is None
        and query.search is None
        and query.expr is None
        and query.environment_id is None
        and query.branch is None
    )


def docker_client(docker_host: str, *, timeout: float) -> httpx.AsyncClient:
    """An HTTP client of the Docker API at ``tcp://host:port`` or ``unix:///path``."""
    parsed = urlparse(docker_host)
    # Reading a follow waits for lines as long as the runner is quiet: no read timeout.
    timeouts = httpx.Timeout(timeout, read=None)
    if parsed.scheme == "unix":
        transport = httpx.AsyncHTTPTransport(uds=parsed.path)
        return httpx.AsyncClient(base_url="http://docker", transport=transport, timeout=timeouts)
    if parsed.scheme in ("tcp", "http"):
        return httpx.AsyncClient(base_url=f"http://{parsed.netloc}", timeout=timeouts)
    raise ValueError(f"a Docker host is tcp://host:port or unix:///path, not {docker_host!r}")


@dataclass(frozen=True, slots=True)
class Runner:
    id: str
    labels: dict[str, str]  # the stored fields: the non-empty ones of LOG_LABELS


async def running_runners(http: httpx.AsyncClient, query: LogQuery) -> list[Runner]:
    """The query's deployment's running containers, within the query's project."""
    assert query.deployment_id is not None
    wanted = {
        "label": [
            f"{LABEL_PREFIX}{PROJECT_LABEL}={query.project_id}",
            f"{LABEL_PREFIX}{DEPLOYMENT_LABEL}={query.deployment_id}",
        ],
        "status": ["running"],
    }
    try:
        answer = await http.get("/containers/json", params={"filters": json.dumps(wanted)})
        answer.raise_for_status()
        found = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise FollowUnavailable(f"listing runners: {exc}") from exc
    runners = []
    for container in found:
        labels = container.get("Labels") or {}
        # Docker filtered by these labels already; checked again, as the scope depends on it.
        if labels.get(f"{LABEL_PREFIX}{PROJECT_LABEL}") != query.project_id:
            continue
        if labels.get(f"{LABEL_PREFIX}{DEPLOYMENT_LABEL}") != query.deployment_id:
            continue
        fields = {
            name: value for name in LOG_LABELS if (value := labels.get(f"{LABEL_PREFIX}{name}"))
        }
        runners.append(Runner(id=str(container["Id"]), labels=fields))
    return runners


async def follow_runner(
    http: httpx.AsyncClient, runner: Runner, *, since_ns: int, streams: tuple[str, ...]
) -> AsyncIterator[list[LogEntry]]:
    """The runner's lines from ``since_ns`` (whole past lines first), as they come (each
    chunk Docker sends: one or more lines), until it stops; raises
    :class:`FollowUnavailable` if the follow breaks."""
    params = {
        "follow": "1",
        "timestamps": "1",
        "stdout": "1" if "stdout" in streams else "0",
        "stderr": "1" if "stderr" in streams else "0",
        "since": f"{since_ns // SECOND_NS}.{since_ns % SECOND_NS:09d}",
    }
    frames = Frames(runner.labels)
    try:
        async with http.stream("GET", f"/containers/{runner.id}/logs", params=params) as answer:
            if answer.status_code != 200:
                raise FollowUnavailable(f"following {runner.id[:12]}: HTTP {answer.status_code}")
            async for chunk in answer.aiter_raw():
                entries = frames.feed(chunk)
                if entries:
                    yield entries
    except httpx.HTTPError as exc:
        raise FollowUnavailable(f"following {runner.id[:12]}: {exc}") from exc


class Frames:
    """Docker's multiplexed log stream (``timestamps=1``) -> entries, chunk by chunk.

    Each frame is one json-file record: ``<time> <text>``; a line longer than 16 KiB is
    several records of one stream, joined under the first one's time as the collector's
    ``recombine`` does. Per line: a header unpack, a cached time parse, a decode.
    """

    def __init__(self, labels: dict[str, str]) -> None:
        self._labels = {name: {**labels, STREAM_LABEL: name} for name in _STREAMS.values()}
        self._buffer = b""
        self._parts: dict[str, tuple[int, list[bytes]]] = {}
        self._second: tuple[bytes, int] = (b"", 0)

    def feed(self, chunk: bytes) -> list[LogEntry]:
        buffer = self._buffer + chunk if self._buffer else chunk
        entries: list[LogEntry] = []
        at = 0
        while len(buffer) - at >= _HEADER.size:
            kind, size = _HEADER.unpack_from(buffer, at)
            end = at + _HEADER.size + size
            if end > len(buffer):
                break
            stream = _STREAMS.get(kind)
            if stream is not None:
                entry = self._record(stream, buffer[at + _HEADER.size : end])
                if entry is not None:
                    entries.append(entry)
            at = end
        self._buffer = buffer[at:]
        return entries

    def _record(self, stream: str, record: bytes) -> LogEntry | None:
        time_ns = self._time_ns(record)
        text = record[_TIME_WIDTH:]
        pending = self._parts.pop(stream, None)
        if not text.endswith(b"\n"):  # a part of a long line: wait for its last part
            first, parts = pending or (time_ns, [])
            parts.append(text)
            self._parts[stream] = (first, parts)
            return None
        if pending is not None:
            time_ns = pending[0]
            text = b"".join([*pending[1], text])
        return LogEntry(
            timestamp_ns=time_ns,
            line=text[:-1].decode("utf-8", "replace"),
            labels=self._labels[stream],
        )

    def _time_ns(self, record: bytes) -> int:
        second = record[:19]
        cached, seconds = self._second
        if second != cached:
            seconds = int(datetime.fromisoformat(second.decode() + "+00:00").timestamp())
            self._second = (second, seconds)
        return seconds * SECOND_NS + int(record[20:29])
