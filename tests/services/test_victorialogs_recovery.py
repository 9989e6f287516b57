"""VictoriaLogs' side of the repair over a mock transport: its start time, the flush, the
query and the insert (the real store: tests/services/test_store_repair.py)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from devpush.logs.recovery import Line, Window
from devpush.services.victorialogs import recovery
from devpush.services.victorialogs.recovery import VictoriaLogsRecovery

METRICS = """# TYPE vm_app_start_timestamp gauge
vm_app_start_timestamp 1796511880
process_start_time_seconds 1796511880
"""


def store(handler: httpx.MockTransport) -> VictoriaLogsRecovery:
    return VictoriaLogsRecovery(httpx.Client(base_url="http://vl", transport=handler))


def test_the_start_time_comes_from_its_metrics_and_none_when_it_does_not_answer() -> None:
    assert store(httpx.MockTransport(lambda r: httpx.Response(200, text=METRICS))).started_s() == (
        1796511880
    )

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    assert store(httpx.MockTransport(refused)).started_s() is None
    assert store(httpx.MockTransport(lambda r: httpx.Response(503))).started_s() is None


def test_a_refused_flush_waits_the_visibility_delay_instead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waited: list[float] = []
    monkeypatch.setattr(recovery.time, "sleep", waited.append)
    store(httpx.MockTransport(lambda r: httpx.Response(403))).make_searchable()
    assert waited == [recovery.VISIBLE_AFTER_SECONDS]
    with pytest.raises(httpx.HTTPStatusError):
        store(httpx.MockTransport(lambda r: httpx.Response(500))).make_searchable()


def test_lines_are_asked_by_deployment_and_window_and_read_to_the_nanosecond() -> None:
    asked: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        rows = [
            {"_time": "2026-12-05T23:04:50.42801Z", "_msg": "hello", "stream": "stdout"},
            {"_time": "2026-12-05T23:04:50.428104925Z", "stream": "stderr"},
        ]
        return httpx.Response(200, text="".join(json.dumps(row) + "\n" for row in rows))

    lines = store(httpx.MockTransport(answer)).lines('d"1', Window(5, 9))
    assert lines == [
        Line(1796511890428010000, "stdout", "hello"),
        Line(1796511890428104925, "stderr", ""),
    ]
    form = dict(httpx.QueryParams(asked[0].content.decode()))
    assert form == {
        "query": 'deployment_id:="d\\"1" | fields _time, _msg, stream',
        "start": "5",
        "end": "9",
    }


def test_inserted_lines_carry_the_collectors_fields_stream_fields_and_time() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    fields = {"project_id": "p", "environment_id": "e", "branch": "main", "deployment_id": "d"}
    store(httpx.MockTransport(answer)).insert(fields, [Line(17, "stderr", '{"a":1}')])
    [request] = sent
    assert request.url.path == "/insert/jsonline"
    assert request.url.params["_stream_fields"] == (
        "project_id,environment_id,branch,deployment_id,stream,source,host"
    )
    [row] = [json.loads(text) for text in request.content.decode().splitlines()]
    assert row == {"_time": "17", "_msg": '{"a":1}', **fields, "stream": "stderr"}


def test_the_stream_fields_are_the_collectors() -> None:
    config = (Path(__file__).parents[2] / "Docker" / "otelcol" / "config.yaml").read_text()
    assert f"VL-Stream-Fields: {recovery.STREAM_FIELDS}\n" in config
