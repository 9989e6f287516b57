"""The VictoriaLogs client against a real VictoriaLogs (the session's log stack)."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest

from devpush.logs.query import LogQuery
from devpush.services.log_store import log_store, open_http_client
from tests.fixtures.logstack import LogStack

pytestmark = pytest.mark.docker


def test_a_live_tail_makes_just_received_lines_searchable_at_once(
    running_log_stack: LogStack,
) -> None:
    stack = running_log_stack
    if stack.backend != "victorialogs":
        pytest.fail("needs VictoriaLogs (--log-store=victorialogs)")
    project_id = uuid.uuid4().hex
    start = time.time_ns()
    body = {
        "streams": [
            {
                "stream": {"project_id": project_id, "stream": "stdout"},
                "values": [[str(start), "just received"]],
            }
        ]
    }
    # As the collector sends: no flush of our own.
    httpx.post(
        f"{stack.store_url}/insert/loki/api/v1/push?_stream_fields=project_id,stream",
        json=body,
        timeout=30,
    ).raise_for_status()
    # Any earlier flush in this process must not hold this one back.
    settings = stack.settings(log_tail_flush_seconds=1e-9)
    query = LogQuery(project_id=project_id, start=start - 1, end=start + 1)

    async def flushed_then_read() -> list[str]:
        async with open_http_client(settings) as http:
            store = log_store(settings, http)
            await store.make_recent_searchable()
            page = await store.page(query)
            return [item.entry.line for item in page.items]

    # Without the flush VictoriaLogs answers for a line about 1 s after it arrived.
    assert asyncio.run(flushed_then_read()) == ["just received"]
