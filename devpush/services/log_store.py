"""The log store chosen by ``Settings.log_store``, over the app's shared HTTP client.

One place picks the backend (as Sentry picks its pluggable backends by a setting); every
caller holds a :class:`devpush.logs.store.LogStore` and never names a backend.
"""

from __future__ import annotations

import httpx

from devpush.core.config import Settings
from devpush.logs.store import LogStore
from devpush.services.loki import LokiStore
from devpush.services.victorialogs import VictoriaLogsStore


def open_http_client(settings: Settings) -> httpx.AsyncClient:
    """The shared HTTP client for the log store; close it with ``await client.aclose()``."""
    return httpx.AsyncClient(
        base_url=settings.store_url,
        timeout=httpx.Timeout(settings.log_store_timeout_seconds),
        headers={"Accept": "application/json"},
    )


def log_store(settings: Settings, http: httpx.AsyncClient) -> LogStore:
    """The configured backend over ``http`` (from :func:`open_http_client`)."""
    if settings.log_store == "loki":
        return LokiStore(http, settings=settings)
    return VictoriaLogsStore(http, settings=settings)
