"""A line's host (swarm mode) in what the API, the views and ``devpush logs`` show; a line
without one (one server) shows exactly what it showed before."""

from __future__ import annotations

from devpush.api.logs import LogLinePublic
from devpush.cli.logs import format_line
from devpush.logs.entries import LogEntry
from devpush.logs.paging import LogCursor, PagedEntry
from devpush.services.logs import log_line

LABELS = {"project_id": "p", "environment_id": "e", "branch": "main",
          "deployment_id": "d1234567890", "stream": "stdout"}  # fmt: skip


def _item(labels: dict[str, str]) -> PagedEntry:
    entry = LogEntry(timestamp_ns=1_700_000_000_000_000_000, line="hello", labels=labels)
    return PagedEntry(entry=entry, cursor=LogCursor(entry.timestamp_ns))


def test_a_line_from_a_host_names_it_everywhere() -> None:
    line = log_line(_item({**LABELS, "host": "node-2"}), max_chars=100)
    assert line.host == "node-2"
    public = LogLinePublic(**log_line(_item({**LABELS, "host": "node-2"})).as_json())
    assert public.model_dump(mode="json")["host"] == "node-2"
    assert format_line(public.model_dump(mode="json")).endswith(" d1234567@node-2 out hello")


def test_a_line_without_a_host_has_no_host_field() -> None:
    as_json = log_line(_item(LABELS)).as_json()
    assert "host" not in as_json
    dumped = LogLinePublic(**as_json).model_dump(mode="json")
    assert "host" not in dumped
    assert format_line(dumped).endswith(" d1234567 out hello")
