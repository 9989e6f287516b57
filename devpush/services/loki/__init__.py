"""Loki as a log store: LogQL built from typed queries, over ``query_range``.

The package's face is :class:`LokiStore`, what ``devpush/services/log_store.py`` picks.
The private modules each do one job: ``_logql`` (query text), ``_models`` (answers),
``_client`` (HTTP); their tests import them by name. Paging, the tail and the errors are
the store-neutral ones of ``devpush.logs``.
"""

from __future__ import annotations

from devpush.services.loki._client import LokiStore

__all__ = ["LokiStore"]
