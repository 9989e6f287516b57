"""The log stacks by store name: a store with the collector that feeds it, on loopback.

One registry, keyed by ``LogStoreName`` like the app's (``devpush/services/log_store.py``),
says how to run each stack; the local run (``devpush_dev/pipeline.py``), the tests'
fixture (``tests/fixtures/logstack.py``) and the benchmarks' harness all take it from
here. Either way the collector tails the real engine's json-file logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from devpush.core.config import LOG_STORES, LogStoreName, Settings
from devpush_dev import alloy, loki, otelcol, socket_proxy, victorialogs
from devpush_dev.ports import free_port
from devpush_dev.processes import Child, ProcessSpec, Stoppable


def proxy_access_log(root: Path) -> Path:
    """Where the proxy of a run whose state is under ``root`` writes its access log, and
    where that run's collector reads it (``Settings.proxy_access_log``)."""
    return root / "proxy-access" / "access.log"


@dataclass(frozen=True)
class LogStackPlan:
    """A stack's processes, not started, and what the app needs to read its store."""

    backend: LogStoreName
    store_url: str
    store: ProcessSpec
    collector: ProcessSpec
    #: Started first and kept running (Alloy's socket-proxy door).
    support: tuple[ProcessSpec, ...] = ()
    #: The collector's own metrics (its queue), where the stack's collector has them.
    collector_metrics_url: str | None = None
    #: One line for the local run's console: what ships where.
    summary: str = ""
    #: The proxy access log the collector reads (request logs): the proxy must write there.
    proxy_access_log: Path | None = None

    def settings(self) -> dict[str, str]:
        """The ``DEVPUSH_*`` settings that point the app at this stack."""
        values = {"DEVPUSH_LOG_STORE": self.backend, "DEVPUSH_LOG_STORE_URL": self.store_url}
        if self.collector_metrics_url is not None:
            # The log views warn when the collector's queue is full (devpush/services/collector.py).
            values["DEVPUSH_LOG_COLLECTOR_METRICS_URL"] = self.collector_metrics_url
        return values


class PlanLogStack(Protocol):
    def __call__(self, root: Path, *, docker_host: str) -> LogStackPlan: ...


def plan_victorialogs(root: Path, *, docker_host: str) -> LogStackPlan:
    """VictoriaLogs, and the OpenTelemetry Collector reading the engine's files directly."""
    store_port, metrics_port = free_port(), free_port()
    store_url = f"http://127.0.0.1:{store_port}"
    return LogStackPlan(
        backend="victorialogs",
        store_url=store_url,
        store=victorialogs.victorialogs_process(
            data_dir=root / "victorialogs", http_port=store_port
        ),
        # The same state dir on every (re)start: the collector resumes from its checkpoint.
        collector=otelcol.collector_process(
            state_dir=root / "otelcol",
            containers_dir=otelcol.engine_containers_dir(),
            victorialogs_url=store_url,
            metrics_port=metrics_port,
            health_port=free_port(),
            access_log=proxy_access_log(root),
        ),
        collector_metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
        summary=f"the collector ships runner and request logs to VictoriaLogs at {store_url}",
        proxy_access_log=proxy_access_log(root),
    )


def plan_loki(root: Path, *, docker_host: str) -> LogStackPlan:
    """Loki, and Alloy, which finds runners through its own read-only socket-proxy door."""
    http_port, door_port = free_port(), free_port()
    store_url = f"http://127.0.0.1:{http_port}"
    door = socket_proxy.door_process(
        env_file=socket_proxy.ALLOY_DOOR,
        port=door_port,
        state_dir=root / "proxy",
        socket_path=socket_proxy.socket_path_from_docker_host(docker_host),
    )
    return LogStackPlan(
        backend="loki",
        store_url=store_url,
        store=loki.loki_process(data_dir=root / "loki", http_port=http_port, grpc_port=free_port()),
        collector=alloy.alloy_process(
            state_dir=root / "alloy",
            http_port=free_port(),
            docker_host=f"tcp://127.0.0.1:{door_port}",
            loki_push_url=f"{store_url}/loki/api/v1/push",
            access_log=proxy_access_log(root),
        ),
        support=(door,),
        summary=f"Alloy ships runner and request logs to Loki at {store_url}",
        proxy_access_log=proxy_access_log(root),
    )


#: How to run each store's stack (``LOG_STORES``; a test checks the keys).
LOG_STACKS: Final[Mapping[LogStoreName, PlanLogStack]] = {
    "victorialogs": plan_victorialogs,
    "loki": plan_loki,
}


class UnknownLogStackError(LookupError):
    """A store name no stack is registered under."""


def plan(name: str, root: Path, *, docker_host: str | None = None) -> LogStackPlan:
    """The stack of store ``name`` with its state under ``root``, on free loopback ports.

    ``docker_host`` is the engine the collector discovers runners on (default: the
    settings'). Raises :class:`devpush_dev.binaries.BinaryNotFoundError` for a missing binary.
    """
    try:
        planner = LOG_STACKS[name]  # type: ignore[index]
    except KeyError:
        raise UnknownLogStackError(
            f"no log stack for a store named {name!r}: devpush_dev has {', '.join(LOG_STORES)}"
        ) from None
    return planner(root, docker_host=docker_host or Settings().docker_host)


@dataclass
class LogStack(Stoppable):
    """A running stack from a :class:`LogStackPlan`; tests may stop and start either part."""

    plan: LogStackPlan
    store: Child | None = None
    collector: Child | None = None
    support: list[Child] = field(default_factory=list)

    @property
    def backend(self) -> LogStoreName:
        return self.plan.backend

    @property
    def store_url(self) -> str:
        return self.plan.store_url

    @property
    def collector_metrics_url(self) -> str | None:
        return self.plan.collector_metrics_url

    def settings(self, **overrides: Any) -> Settings:
        """Settings that read this stack's store (and its collector's metrics)."""
        overrides.setdefault("log_collector_metrics_url", self.collector_metrics_url)
        return Settings(log_store=self.backend, log_store_url=self.store_url, **overrides)

    def start(self) -> None:
        """Start the support, the store, then the collector, each once it is ready."""
        for spec in self.plan.support:
            self.support.append(spec.start())
        self.start_store()
        self.start_collector()

    def start_store(self) -> None:
        self.store = self.plan.store.start()

    def start_collector(self) -> None:
        self.collector = self.plan.collector.start()

    def ensure_running(self) -> None:
        if self.store is None or not self.store.running():
            self.start_store()
        if self.collector is None or not self.collector.running():
            self.start_collector()

    def stop(self) -> None:
        for child in (self.collector, self.store, *self.support):
            if child is not None and child.running():
                child.stop()


def start_log_stack(name: str, root: Path, *, docker_host: str | None = None) -> LogStack:
    """The stack of store ``name``, running; stop it with :meth:`LogStack.stop`.

    If a part fails to start, the parts already running are stopped before the error.
    """
    stack = LogStack(plan(name, root, docker_host=docker_host))
    try:
        stack.start()
    except BaseException:
        stack.stop()
        raise
    return stack
