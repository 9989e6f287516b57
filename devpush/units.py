"""Units, one name for each, and sizes in words a person reads (``1536`` → ``"1.5 KiB"``),
for the CLI and the server alike.

The standard library only, and nothing else of devpush: the CLI installs without the
server's packages (``tests/test_layers.py``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

#: Nanoseconds in a second: log timestamps are Unix nanoseconds, and so are Docker's
#: durations.
SECOND_NS: Final = 1_000_000_000
#: Docker's NanoCPUs in one CPU (a CPU limit is in billionths of a CPU).
CPU_NANOS: Final = 1_000_000_000

_UNITS: Final = ("B", "KiB", "MiB", "GiB", "TiB")
# RFC 3339 in UTC as Docker and VictoriaLogs write it: up to 9 fraction digits, trailing
# zeros maybe trimmed ("…24.99Z" is 990 ms), so times are parsed, never compared as text.
_RFC3339: Final = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z")


def parse_rfc3339_ns(text: str) -> int | None:
    """Unix nanoseconds of an RFC 3339 UTC time, exactly (``datetime`` stops at
    microseconds); None when ``text`` is not one."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    seconds = int(datetime.fromisoformat(match[1] + "+00:00").timestamp())
    return seconds * SECOND_NS + int((match[2] or "").ljust(9, "0"))


def format_rfc3339_ns(timestamp_ns: int) -> str:
    """Unix nanoseconds as RFC 3339 UTC with all nine fraction digits (what
    :func:`parse_rfc3339_ns` reads back)."""
    seconds, fraction = divmod(timestamp_ns, SECOND_NS)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{fraction:09d}Z"


def human_bytes(value: float) -> str:
    """``1536`` → ``"1.5 KiB"``: whole bytes, one decimal above, TiB at most."""
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
