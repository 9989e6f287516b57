"""The full download as VictoriaLogs writes it: LogsQL formats every row, the app passes it on.

A download can be millions of lines; parsing each into a ``LogEntry`` and formatting it
again in Python held the old path to about 10-30k lines/s. Here the store does the
per-line work in Go (``extract_regexp``, ``format``, ``math`` and ``sort`` pipes over its
streamed ``/select/logsql/query`` answer) and the app only cuts that answer into chunks:

- ``ndjson``: the store's own JSON rows *are* the file's rows (fields ``ts``, ``time``,
  ``line``, ``stream``, ``source``, ``deployment_id``, ``environment_id``, ``branch``, then
  a request entry's ``request.*``, in that order; like the store, a row leaves out a field
  with no value).
- ``txt``: each row is ``{"r":"<time> <stream, or source, or -> <line>"}``. A chunk with no ``\\``
  has no JSON escape in it, so its rows are cut out of the bytes as they are; another is
  decoded by one ``json.loads`` of the chunk made into a JSON array (a raw newline never
  occurs inside a JSON string, so ``}\\n`` only ends a row).

Times are RFC 3339 with all nine digits of the nanoseconds, as the other views write
them (VictoriaLogs trims trailing zeros; ``extract_regexp`` and ``format`` pad them back),
and ``ts`` is the Unix time in ns (whole seconds from ``math``, exact for seconds, then the
nine digits). Rows are sorted by time, then stream and line, so a row the store holds twice
(a collector re-sent a batch) lies beside its copy and is dropped, as paging drops it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Final, Literal, TypeVar

import httpx

from devpush.core.labels import REQUEST_FIELDS, SOURCE_LABEL
from devpush.logs.errors import (
    LogStoreProtocolError,
    error_for_status,
    map_request_error,
)
from devpush.services.victorialogs._endpoints import Endpoint

Format = Literal["txt", "ndjson"]

# Nine digits of nanoseconds from a trimmed ``_time`` ("…:05.12Z" → "120000000"), and the
# whole seconds as Unix time (``math`` reads an RFC 3339 text as ns; a whole second in ns
# is exact in a float64, and so is its quotient).
_TIME_PIPES: Final = (
    'extract "<dl_sec>.<dl_frac>Z" from _time',
    'extract if (dl_sec:="") "<dl_sec>Z" from _time',  # a whole second: no fraction
    'format "<dl_frac>000000000" as dl_frac',
    'extract_regexp "^(?P<dl_ns>.{9})" from dl_frac',
)
_ORDER: Final = "sort by (_time, _stream_id, _msg)"
_NDJSON_PIPES: Final = (
    *_TIME_PIPES,
    'format "<dl_sec>Z" as dl_epoch',
    "math dl_epoch / 1000000000 as dl_epoch",
    'format "<dl_epoch><dl_ns>" as ts',
    'format "<dl_sec>.<dl_ns>Z" as time',
    "copy _msg as line",
    _ORDER,
    f"fields ts, time, line, stream, {SOURCE_LABEL}, deployment_id, environment_id, branch, "
    + ", ".join(REQUEST_FIELDS.values()),
)
_TXT_PIPES: Final = (
    *_TIME_PIPES,
    'format "<dl_sec>.<dl_ns>Z <stream> <_msg>" as r',
    # A request entry has no stream: its source says what it is.
    f'format if (stream:="") "<dl_sec>.<dl_ns>Z <{SOURCE_LABEL}> <_msg>" as r',
    f'format if (stream:="" {SOURCE_LABEL}:="") "<dl_sec>.<dl_ns>Z - <_msg>" as r',
    _ORDER,
    "fields r",
)
_TXT_PREFIX: Final = b'{"r":'
_Row = TypeVar("_Row", bytes, str)


def export_query(filters: str, fmt: Format) -> str:
    """The LogsQL text of a download: ``filters`` (the project's scope first), then pipes."""
    pipes = _NDJSON_PIPES if fmt == "ndjson" else _TXT_PIPES
    return " | ".join((filters, *pipes))


class Rows:
    """Turns the store's answer, chunk by chunk, into the file's bytes (whole rows only)."""

    def __init__(self, fmt: Format) -> None:
        self._fmt = fmt
        self._rest = b""
        self._last: object = None  # the last row given, to drop its copy

    def feed(self, data: bytes) -> bytes:
        """The file's bytes for the whole rows in ``self._rest + data``; keeps the rest."""
        data = self._rest + data
        cut = data.rfind(b"\n") + 1
        self._rest = data[cut:]
        if not cut:
            return b""
        return self._txt(data[:cut]) if self._fmt == "txt" else self._ndjson(data[:cut])

    def close(self) -> bytes:
        """The last rows, if the answer did not end with a newline."""
        rest, self._rest = self._rest, b""
        return self.feed(rest + b"\n") if rest.strip() else b""

    def _ndjson(self, block: bytes) -> bytes:
        rows = block.split(b"\n")[:-1]
        kept = _unrepeated(rows, self._last)
        self._last = rows[-1]
        return b"\n".join(kept) + b"\n" if kept else b""

    def _txt(self, block: bytes) -> bytes:
        if b"\\" not in block:
            # No escapes: every row is exactly ``{"r":"<text>"}``, its text the bytes.
            raw = block.replace(_TXT_PREFIX + b'"', b"").replace(b'"}\n', b"\n")
            pieces = raw.split(b"\n")[:-1]
            last = self._last.encode() if isinstance(self._last, str) else None
            whole = _unrepeated(pieces, last)
            self._last = pieces[-1].decode()  # a str, as the decoded rows are
            if len(whole) == len(pieces):
                return raw
            return b"\n".join(whole) + b"\n" if whole else b""
        array = b"[" + block.replace(_TXT_PREFIX, b"").replace(b"}\n", b",")[:-1] + b"]"
        try:
            rows = json.loads(array)
        except ValueError as exc:
            raise LogStoreProtocolError("a log store export row is not JSON") from exc
        if not isinstance(rows, list) or not rows:
            raise LogStoreProtocolError("a log store export answer is not rows")
        kept = _unrepeated(rows, self._last)
        self._last = rows[-1]
        try:
            return ("\n".join(kept) + "\n").encode() if kept else b""
        except TypeError as exc:  # a row that is not a string
            raise LogStoreProtocolError("a log store export row has no text") from exc


def _unrepeated(rows: list[_Row], last: object) -> list[_Row]:
    """``rows`` less each row equal to the one before it (``last`` before the first)."""
    return [row for row, before in zip(rows, [last, *rows], strict=False) if row != before]


async def export(
    http: httpx.AsyncClient, text: str, *, start_ns: int, end_ns: int, fmt: Format
) -> AsyncIterator[bytes]:
    """The file's bytes for ``[start_ns, end_ns)``, streamed (memory: one chunk).

    The store's errors before its first byte raise, mapped as every store request's are;
    a cluster front that misses a node (502) is not asked for a partial answer: a file
    silently short of lines is worse than an error.
    """
    form = {"query": text, "start": str(start_ns), "end": str(end_ns)}
    rows = Rows(fmt)
    try:
        async with http.stream("POST", Endpoint.QUERY, data=form) as response:
            if not response.is_success:
                await response.aread()
                error = error_for_status(response)
                if error is not None:
                    raise error
            async for data in response.aiter_bytes():
                out = rows.feed(data)
                if out:
                    yield out
    except httpx.RequestError as exc:
        raise map_request_error(exc) from exc
    tail = rows.close()
    if tail:
        yield tail
