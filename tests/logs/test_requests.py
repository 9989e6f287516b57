"""Request entries without a store: their fields read back, the status classes, the
stats, the histogram bars, both stores' query text, and what the API, the CLI and the
rows make of them."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import pytest

import devpush
from devpush.cli.logs import format_line
from devpush.core.labels import REQUEST_FIELDS
from devpush.logs.entries import LogEntry, VolumePoint, VolumeSeries
from devpush.logs.paging import LogCursor, PagedEntry
from devpush.logs.query import LogQuery
from devpush.logs.requests import RequestStats, request_info, status_class
from devpush.services.logs import log_line
from devpush.services.loki._logql import stream_selector
from devpush.services.loki._requests import request_entry, stats_queries, status_volume_query
from devpush.services.request_logs import request_stats, status_bars
from devpush.services.victorialogs._logsql import filters, ordered
from devpush.services.victorialogs._requests import parse_stats, stats_query
from devpush.units import SECOND_NS
from devpush.web.rendering import build_templates

LABELS = {"project_id": "p1", "environment_id": "e1", "branch": "main", "deployment_id": "d1"}
STORED = {
    "request.method": "GET",
    "request.host": "shop.example.org",
    "request.path": "/cart",
    "request.status": "503",
    "request.duration_ms": "12.345",
    "request.bytes": "1234567",
    "request.client": "203.0.113.9",
    "request.user_agent": "curl/8",
}


def request_entry_of(fields: Mapping[str, str] = STORED) -> LogEntry:
    labels = {**LABELS, "source": "request"}
    return LogEntry(timestamp_ns=5, line="GET /cart 503 12ms", labels=labels, fields=fields)


def paged(entry: LogEntry) -> PagedEntry:
    return PagedEntry(entry=entry, cursor=LogCursor(timestamp_ns=entry.timestamp_ns))


def test_the_stored_names_are_the_contracts() -> None:
    assert set(STORED) == set(REQUEST_FIELDS.values())


def test_a_request_entry_reads_back_typed_in_the_api() -> None:
    shown = log_line(paged(request_entry_of())).as_json()
    assert shown["source"] == "request"
    assert shown["stream"] is None
    assert shown["request"] == {
        "method": "GET",
        "host": "shop.example.org",
        "path": "/cart",
        "status": 503,
        "duration_ms": 12.345,
        "bytes": 1234567,
        "client": "203.0.113.9",
        "user_agent": "curl/8",
    }
    # A runner's line gets its stream as its source, and no request object.
    runner = LogEntry(timestamp_ns=5, line="hi", labels={**LABELS, "stream": "stderr"})
    line = log_line(paged(runner)).as_json()
    assert (line["source"], line["stream"]) == ("stderr", "stderr")
    assert "request" not in line


def test_fields_that_are_not_numbers_are_null_not_errors() -> None:
    odd = {**STORED, "request.status": "abc", "request.duration_ms": "NaN", "request.bytes": ""}
    info = request_info(odd)
    assert (info.status, info.duration_ms, info.bytes) == (None, None, None)
    assert info.status_class == "other"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, "2xx"),
        (204, "2xx"),
        (301, "3xx"),
        (404, "4xx"),
        (599, "5xx"),
        (101, "other"),
        (0, "other"),
        (600, "other"),
        (None, "other"),
    ],
)
def test_status_classes(status: int | None, kind: str) -> None:
    assert status_class(status) == kind


def test_the_cli_prints_a_request_readably() -> None:
    item = log_line(paged(request_entry_of())).as_json()
    assert format_line(item) == (
        f"{item['time']} d1 req GET /cart 503 12ms host=shop.example.org client=203.0.113.9"
    )


def test_a_request_row_is_coloured_by_its_status() -> None:
    templates = build_templates(Path(devpush.__file__).parent / "templates")
    macro = templates.env.get_template("logs/macros/lines.html").module.log_line  # type: ignore[attr-defined]
    html = str(macro(log_line(paged(request_entry_of()), max_chars=1000), "/projects/x/logs"))
    assert "source-request status-5xx" in html
    assert ">req</span>" in html


def test_victorialogs_asks_for_the_request_fields_and_filters_the_source() -> None:
    query = LogQuery(project_id="p1", stream="request")
    text = filters(query, max_search_chars=100)
    assert text == '_stream:{project_id="p1"} source:="request"'
    fields = ordered(text, direction="backward", limit=10)
    for name in STORED:
        assert f'"{name}"' in fields
    assert "source" in fields
    assert stats_query(text) == (
        '_stream:{project_id="p1"} source:="request" | stats count() as requests,'
        ' count() if ("request.status":>=500) as errors,'
        ' quantile(0.5, "request.duration_ms") as p50,'
        ' quantile(0.95, "request.duration_ms") as p95'
    )


def test_victorialogs_stats_answers() -> None:
    stats = parse_stats('{"requests":"4","errors":"1","p50":"3","p95":"10.5"}\n')
    assert stats == RequestStats(count=4, errors=1, p50_ms=3.0, p95_ms=10.5)
    assert stats.error_rate == 25.0
    none = parse_stats('{"requests":"0","errors":"0","p50":"NaN","p95":"0"}')
    assert (none.count, none.p50_ms, none.error_rate) == (0, None, None)
    assert parse_stats("") == RequestStats(count=0, errors=0, p50_ms=None, p95_ms=None)


def test_loki_compiles_request_queries_inside_the_project() -> None:
    query = LogQuery(project_id='p"1', deployment_id="d1", start=0, end=3_600_000_000_000)
    selector = '{project_id="p\\"1", deployment_id="d1", job="docker", source="request"}'
    assert stream_selector(LogQuery(project_id='p"1', deployment_id="d1", stream="request")) == (
        selector
    )
    texts = stats_queries(query, span=timedelta(hours=1), max_search_chars=100)
    assert texts == {
        "requests": f"sum(count_over_time({selector} [3600s]))",
        "errors": f"sum(count_over_time({selector} | json | status >= 500 | __error__=`` [3600s]))",
        "p50": f"quantile_over_time(0.5, {selector} | json | unwrap duration_ms | __error__=`` "
        "[3600s]) by ()",
        "p95": f"quantile_over_time(0.95, {selector} | json | unwrap duration_ms | __error__=`` "
        "[3600s]) by ()",
    }
    assert status_volume_query(query, step=timedelta(minutes=1), max_search_chars=100) == (
        f'sum by (status) (count_over_time({selector} | json status="status" | __error__=`` [60s]))'
    )


def test_a_loki_request_line_reads_as_a_request_entry() -> None:
    line = (
        '{"method":"POST","host":"h","path":"/p","status":201,"duration_ms":3.25,'
        '"bytes":10,"client":"192.0.2.1","user_agent":"ua"}'
    )
    entry = request_entry(LogEntry(timestamp_ns=1, line=line, labels={"source": "request"}))
    assert entry.line == "POST /p 201 3.2ms"
    assert entry.fields["request.status"] == "201"
    assert request_info(entry.fields).duration_ms == 3.25
    runner = LogEntry(timestamp_ns=1, line=line, labels={"stream": "stdout"})
    assert request_entry(runner) is runner  # a runner's JSON line stays as it is


class _Store:
    """A store with request stats (the RequestStatsStore protocol), answering fixed data."""

    def __init__(self, series: list[VolumeSeries]) -> None:
        self.series = series
        self.asked: list[LogQuery] = []
        self.steps: list[timedelta] = []

    async def status_volume(self, query: LogQuery, *, step: timedelta) -> list[VolumeSeries]:
        self.asked.append(query)
        self.steps.append(step)
        return self.series

    async def request_stats(self, query: LogQuery) -> RequestStats:
        self.asked.append(query)
        return RequestStats(count=2, errors=1, p50_ms=1.0, p95_ms=2.0)


def test_the_histogram_counts_by_status_class() -> None:
    asyncio.run(_histogram_counts_by_status_class())


async def _histogram_counts_by_status_class() -> None:
    start = 1_000 * SECOND_NS
    series = [
        VolumeSeries({"status": "200"}, (VolumePoint(start, 3),)),
        VolumeSeries({"status": "204"}, (VolumePoint(start, 1),)),
        VolumeSeries({"status": "502"}, (VolumePoint(start + 60 * SECOND_NS, 2),)),
        VolumeSeries({"status": "0"}, (VolumePoint(start, 9),)),  # no status: not a class
    ]
    store = _Store(series)
    query = LogQuery(project_id="p1", start=start, end=start + 3_600 * SECOND_NS)
    bars = await status_bars(store, query)  # type: ignore[arg-type]
    assert bars is not None and len(bars) == 60
    assert bars[0].counts == {"2xx": 4, "3xx": 0, "4xx": 0, "5xx": 0}
    assert bars[1].counts["5xx"] == 2
    assert sum(bar.total for bar in bars) == 6
    # A runner stream's view has no requests to count; a store without stats gives none.
    stdout = LogQuery(project_id="p1", stream="stdout", start=0, end=1)
    assert await status_bars(store, stdout) is None  # type: ignore[arg-type]
    assert await status_bars(object(), query) is None  # type: ignore[arg-type]
    assert (await request_stats(store, query)).count == 2  # type: ignore[arg-type, union-attr]
    assert store.asked[-1].stream == "request"


def test_the_histogram_cuts_a_ragged_range_as_the_volume_bars_do() -> None:
    start = 1_000 * SECOND_NS + 300_000_000  # not on a SECOND_NS
    end = start + 150 * SECOND_NS + 500_000_000
    series = [
        VolumeSeries(
            {"status": "404"},
            (
                VolumePoint(start - 1_500_000_000, 1),  # half a step early: bar 0
                VolumePoint(start - 1_600_000_000, 2),  # earlier: no bar
                VolumePoint(start + 1_500_000_000, 4),  # halfway: bar 1
                VolumePoint(start + 3 * SECOND_NS - 1_000_000, 8),  # millisecond-aligned: bar 1
                VolumePoint(end + SECOND_NS, 16),  # past the last bar
            ),
        ),
        VolumeSeries({"status": "301"}, (VolumePoint(end - 1, 32),)),
    ]
    store = _Store(series)
    query = LogQuery(project_id="p1", start=start, end=end)
    bars = asyncio.run(status_bars(store, query))  # type: ignore[arg-type]
    assert bars is not None and store.steps == [timedelta(seconds=3)]
    assert len(bars) == 51
    assert [(bar.start_ns, bar.end_ns) for bar in (bars[0], bars[-1])] == [
        (start, start + 3 * SECOND_NS),
        (start + 150 * SECOND_NS, end),
    ]
    assert [bars[0].counts["4xx"], bars[1].counts["4xx"], bars[-1].counts["3xx"]] == [1, 12, 32]
    assert sum(bar.total for bar in bars) == 1 + 12 + 32
