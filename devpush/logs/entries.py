"""What every log store answers with: entries (one line each) and volume series."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from devpush.core.labels import HOST_LABEL, SOURCE_LABEL, STREAM_LABEL

_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Replace lone surrogates (JSON ``"\\ud800"`` decodes to one) with U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def entry_key(labels: Mapping[str, str], line: str) -> str:
    """Identity of an entry among those sharing its timestamp.

    The stream's fields plus the line identify an entry at a timestamp: Loki keeps one
    copy of identical entries, and where a store keeps repeats (VictoriaLogs, after a
    collector re-sent a batch) paging shows them once. 64 bits of BLAKE2b keep cursors
    short; a collision needs two distinct lines at one nanosecond.
    """
    digest = hashlib.blake2b(digest_size=8)
    for name in sorted(labels):
        digest.update(f"{name}\x00{labels[name]}\x00".encode())
    digest.update(b"\x01")
    digest.update(line.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One log line: its fields (project_id … stream), its timestamp in Unix ns, its text."""

    timestamp_ns: int
    line: str
    labels: Mapping[str, str] = field(hash=False)
    #: Stored fields beyond the labels: a request entry's ``request.*`` (REQUEST_FIELDS).
    fields: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    #: Identity of the entry among those sharing its timestamp (see :func:`entry_key`);
    #: computed once, as paging, the tail and downloads each need it several times.
    key: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", entry_key(self.labels, self.line))

    @property
    def id(self) -> str:
        """The entry's id everywhere it is shown (API ``id``, row anchors, dedupe)."""
        return f"{self.timestamp_ns}-{self.key}"

    @property
    def stream(self) -> str | None:
        return self.labels.get(STREAM_LABEL)

    @property
    def host(self) -> str | None:
        """Swarm mode: the host that ran the runner; None on one server."""
        return self.labels.get(HOST_LABEL)

    @property
    def source(self) -> str | None:
        """Where the line comes from: ``request`` (the proxy), else the runner's stream."""
        return self.labels.get(SOURCE_LABEL) or self.labels.get(STREAM_LABEL)


@dataclass(frozen=True, slots=True)
class VolumePoint:
    timestamp_ns: int
    count: int


@dataclass(frozen=True, slots=True)
class VolumeSeries:
    """Line counts over time for one label set (``{"stream": "stdout"}``)."""

    labels: Mapping[str, str] = field(hash=False)
    points: tuple[VolumePoint, ...]


@dataclass(frozen=True, slots=True)
class Fetched:
    """One range answer of a backend; ``partial`` when some storage nodes did not answer
    (a clustered store's partial response): lines may be missing from it."""

    entries: Sequence[LogEntry]
    partial: bool = False
