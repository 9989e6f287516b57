"""VictoriaLogs' side of repairing a kill: its start time, its lines, and inserting lost ones.

The worker polls it (synchronously, in its own thread: ``devpush/workers/store_watch.py``).
Inserted lines go through ``/insert/jsonline`` with the fields, stream fields and time
the collector gives a line (Docker/otelcol/config.yaml): the same ``_stream_id``, an
empty text stored as none, a JSON text kept as text (tests/services/test_store_repair.py
compares a repaired row with the collector's).
"""

from __future__ import annotations

import json
import time
from typing import Final

import httpx
from prometheus_client.parser import text_string_to_metric_families

from devpush.core.labels import HOST_LABEL, LOG_FIELDS, SOURCE_LABEL, STREAM_LABEL
from devpush.logs.recovery import Line, Window
from devpush.services.victorialogs._endpoints import Endpoint
from devpush.services.victorialogs._models import parse_time_ns

#: The process's start, in Unix seconds (VictoriaMetrics' lib/appmetrics).
START_METRIC: Final = "vm_app_start_timestamp"
#: What the collector's ``VL-Stream-Fields`` header names (a runner line has no ``source``:
#: its stream is the same with or without that name in the list; nor, on one server, a host).
STREAM_FIELDS: Final = ",".join((*LOG_FIELDS, SOURCE_LABEL, HOST_LABEL))
#: Without a flush, a line is searchable this long after it arrived (1.0-1.1 s measured).
VISIBLE_AFTER_SECONDS: Final = 1.5
#: Rows per insert request.
INSERT_BATCH: Final = 5000


class VictoriaLogsRecovery:
    """One VictoriaLogs over an ``httpx.Client`` based at its URL (``RecoverableStore``)."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def started_s(self) -> int | None:
        try:
            answer = self._http.get(Endpoint.METRICS)
            answer.raise_for_status()
        except httpx.HTTPError:
            return None
        for family in text_string_to_metric_families(answer.text):
            for sample in family.samples:
                if sample.name == START_METRIC:
                    return int(sample.value)
        return None

    def make_searchable(self) -> None:
        answer = self._http.get(Endpoint.FORCE_FLUSH)
        if answer.is_client_error:  # refused (a cluster's front, an auth key): wait instead
            time.sleep(VISIBLE_AFTER_SECONDS)
            return
        answer.raise_for_status()

    def lines(self, deployment_id: str, window: Window) -> list[Line]:
        query = f"deployment_id:={json.dumps(deployment_id)} | fields _time, _msg, stream"
        form = {"query": query, "start": str(window.start_ns), "end": str(window.end_ns)}
        answer = self._http.post(Endpoint.QUERY, data=form)
        answer.raise_for_status()
        found = []
        for text in answer.text.splitlines():
            if text.strip():
                row = json.loads(text)
                stream, message = row.get(STREAM_LABEL, ""), row.get("_msg", "")
                found.append(Line(parse_time_ns(row["_time"]), stream, message))
        return found

    def insert(self, fields: dict[str, str], lines: list[Line]) -> None:
        for first in range(0, len(lines), INSERT_BATCH):
            rows = [
                json.dumps(
                    {
                        "_time": str(line.time_ns),
                        "_msg": line.message,
                        **fields,
                        STREAM_LABEL: line.stream,
                    }
                )
                for line in lines[first : first + INSERT_BATCH]
            ]
            answer = self._http.post(
                Endpoint.INSERT,
                params={"_stream_fields": STREAM_FIELDS},
                content="\n".join(rows) + "\n",
            )
            answer.raise_for_status()
