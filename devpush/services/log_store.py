"""The log-store backends by name, and the one chosen by ``Settings.log_store``.

One registry, keyed by ``LogStoreName``, picks the backend (as Sentry picks its pluggable
backends by a setting); every caller holds a :class:`devpush.logs.store.LogStore` and
never names a backend. A backend's capabilities beyond ``LogStore`` belong on its entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol

import httpx

from devpush.core.config import LOG_STORES, LogStoreName, Settings
from devpush.core.errors import Unavailable
from devpush.logs.recovery import RecoverableStore
from devpush.logs.store import LogStore
from devpush.services.loki import LokiStore
from devpush.services.victorialogs import VictoriaLogsStore
from devpush.services.victorialogs.recovery import VictoriaLogsRecovery


class StoreFactory(Protocol):
    def __call__(self, http: httpx.AsyncClient, *, settings: Settings) -> LogStore: ...


class RecoveryFactory(Protocol):
    def __call__(self, http: httpx.Client) -> RecoverableStore: ...


@dataclass(frozen=True)
class LogStoreBackend:
    """What devpush knows of one backend: its store and where it answers by default."""

    store: StoreFactory
    #: Where it answers when ``log_store_url`` is unset.
    default_url: str
    #: A store without a write-ahead log: how the worker repairs it after a crash
    #: (``devpush/services/store_repair.py``); None when a crash loses nothing it acknowledged.
    recovery: RecoveryFactory | None = None


#: Every backend ``Settings.log_store`` may name (``LOG_STORES``; a test checks the keys):
#: the embedded VictoriaLogs of the local run on loopback, Loki's service name in Compose.
LOG_STORE_BACKENDS: Final[Mapping[LogStoreName, LogStoreBackend]] = {
    "victorialogs": LogStoreBackend(
        store=VictoriaLogsStore,
        default_url="http://127.0.0.1:9428",
        recovery=VictoriaLogsRecovery,
    ),
    "loki": LogStoreBackend(store=LokiStore, default_url="http://loki:3100"),
}


class UnknownLogStoreError(Unavailable, LookupError):
    """A log-store name no backend is registered under (a setting no request can fix)."""


def backend(name: str) -> LogStoreBackend:
    """The backend registered as ``name``; an unknown name is an error naming the known ones."""
    try:
        return LOG_STORE_BACKENDS[name]  # type: ignore[index]
    except KeyError:
        raise UnknownLogStoreError(
            f"no log store named {name!r}: devpush has {', '.join(LOG_STORES)}"
        ) from None


def store_url(settings: Settings) -> str:
    """``log_store_url``, or where the chosen backend answers by default."""
    return settings.log_store_url or backend(settings.log_store).default_url


def open_http_client(settings: Settings) -> httpx.AsyncClient:
    """The shared HTTP client for the log store; close it with ``await client.aclose()``."""
    return httpx.AsyncClient(
        base_url=store_url(settings),
        timeout=httpx.Timeout(settings.log_store_timeout_seconds),
        headers={"Accept": "application/json"},
    )


def log_store(settings: Settings, http: httpx.AsyncClient) -> LogStore:
    """The configured backend over ``http`` (from :func:`open_http_client`)."""
    return backend(settings.log_store).store(http, settings=settings)
