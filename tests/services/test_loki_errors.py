"""Transport and HTTP status errors map to the service's typed exceptions.

Unreachable and timeout use real sockets on loopback; status handling uses
httpx.MockTransport (status codes only: no LogQL semantics are faked here).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from devpush.core.config import Settings
from devpush.logs.errors import (
    LogStoreError,
    LogStoreProtocolError,
    LogStoreQueryError,
    LogStoreTimeout,
    LogStoreUnavailable,
)
from devpush.logs.query import LogQuery
from devpush.services.log_store import open_http_client, store_url
from devpush.services.loki import LokiStore
from devpush_dev.ports import free_port

QUERY = LogQuery(project_id="p", start=1, end=2)


def settings(url: str, timeout: float = 5.0) -> Settings:
    return Settings(log_store="loki", log_store_url=url, log_store_timeout_seconds=timeout)


async def page_with(handler: Callable[[httpx.Request], httpx.Response]) -> None:
    config = settings("http://loki.invalid:3100")
    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(base_url=store_url(config), transport=transport) as http:
        await LokiStore(http, settings=config).page(QUERY)


def test_unreachable_loki_is_unavailable() -> None:
    async def run() -> None:
        config = settings(f"http://127.0.0.1:{free_port()}")
        async with open_http_client(config) as http:
            await LokiStore(http, settings=config).page(QUERY)

    with pytest.raises(LogStoreUnavailable, match="unreachable") as info:
        asyncio.run(run())
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert not isinstance(info.value, LogStoreTimeout)


def test_silent_loki_times_out() -> None:
    async def run() -> None:
        async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(65536)
            await asyncio.sleep(5)
            writer.close()

        server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            config = settings(f"http://127.0.0.1:{port}", timeout=0.3)
            async with open_http_client(config) as http:
                await LokiStore(http, settings=config).page(QUERY)
        finally:
            server.close()

    with pytest.raises(LogStoreTimeout) as info:
        asyncio.run(run())
    assert isinstance(info.value, LogStoreUnavailable)
    assert isinstance(info.value.__cause__, httpx.TimeoutException)


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (500, "internal error", LogStoreUnavailable, "500: internal error"),
        (503, "", LogStoreUnavailable, "503: Service Unavailable"),
        (429, "too many outstanding requests", LogStoreUnavailable, "429"),
        (400, "parse error at line 1, col 5: syntax error", LogStoreQueryError, "parse error"),
        (404, "404 page not found", LogStoreQueryError, "404"),
        (302, "", LogStoreProtocolError, "DEVPUSH_LOG_STORE_URL"),
    ],
)
def test_status_codes_map_to_typed_errors(
    status: int, body: str, error: type[LogStoreError], message: str
) -> None:
    with pytest.raises(error, match=message) as info:
        asyncio.run(page_with(lambda _: httpx.Response(status, text=body)))
    if hasattr(info.value, "status_code"):
        assert info.value.status_code == status


def test_long_error_bodies_are_cut() -> None:
    with pytest.raises(LogStoreQueryError) as info:
        asyncio.run(page_with(lambda _: httpx.Response(400, text="x" * 10_000)))
    assert len(str(info.value)) < 600


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>proxy</html>"),
        httpx.Response(200, json={"status": "error"}),
        httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix"}}),
    ],
)
def test_unexpected_success_bodies_are_protocol_errors(response: httpx.Response) -> None:
    with pytest.raises(LogStoreProtocolError):
        asyncio.run(page_with(lambda _: response))


def test_request_carries_the_built_query_and_window() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500)

    with pytest.raises(LogStoreUnavailable):
        asyncio.run(page_with(handler))
    params = seen[0].url.params
    assert seen[0].url.path == "/loki/api/v1/query_range"
    assert params["query"] == '{project_id="p", job="docker"}'
    assert (params["start"], params["end"], params["limit"]) == ("1", "2", "100")
    assert params["direction"] == "backward"


def test_unreadable_body_is_a_protocol_error() -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b"not gzip")

    with pytest.raises(LogStoreProtocolError, match="could not be read") as info:
        asyncio.run(page_with(handler))
    assert isinstance(info.value.__cause__, httpx.DecodingError)
