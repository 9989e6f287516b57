"""VictoriaLogs as a log store: LogsQL built from typed queries over ``/select/logsql``.

The package's face is :class:`VictoriaLogsStore`, what ``devpush/services/log_store.py``
picks. The private modules each do one job: ``_logsql`` (query text), ``_models``
(answers), ``_client`` (HTTP); their tests import them by name. Paging, the tail and the
errors are the store-neutral ones of ``devpush.logs``.
"""

from __future__ import annotations

from devpush.services.victorialogs._client import VictoriaLogsStore

__all__ = ["VictoriaLogsStore"]
