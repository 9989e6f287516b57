"""The worker's side of the proxy table: its entries, refreshed from the database.

Only the worker reaches Docker, so only it can tell where a runner answers; every
change to which deployments run ends with :meth:`ProxyTableWriter.refresh`. One writer
per worker process, held by its :class:`~devpush.workers.tasks.context.WorkerContext`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Collection, Iterable, Iterator
from typing import Protocol

import docker
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.core.labels import LABEL_PREFIX, PROJECT_LABEL
from devpush.services import networks, proxy_config, proxy_table, runner, runners
from devpush.services.cluster import runner_services

log = logging.getLogger(__name__)

#: A proxy that is restarting gets a few quick tries before the worker gives up on its config.
ATTEMPTS = 3
RETRY_SECONDS = 0.5


class WorkerContext(Protocol):
    """What the writer reads of the worker's context (``devpush.workers.tasks.context``,
    which holds the writer: a protocol here, not an import back)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def sessions(self) -> sessionmaker[Session]: ...
    @property
    def docker(self) -> docker.DockerClient: ...


def upstream_of(ctx: WorkerContext, container: str) -> proxy_table.Address | None:
    """IP and port of a runner (container id or name) as the proxy reaches it (None: no runner)."""
    found = runners.get_runner(ctx.docker, ctx.settings, container)
    if found is None or found.status != "running":
        return None
    # Its project's network (the label the worker gave it), or the shared one of older runners.
    project_id = found.labels.get(f"{LABEL_PREFIX}{PROJECT_LABEL}", "")
    return runner.upstream_address(
        found, network=networks.network_of(found, ctx.settings, project_id)
    )


def addresses_of(
    ctx: WorkerContext, running: Iterable[proxy_table.RunningDeployment]
) -> dict[str, proxy_table.Address]:
    """Where each running deployment's runner answers, by deployment id (no runner: left out).

    Swarm mode: every live task of its service, on a ready node (the address holds their
    IPs, space-separated), from one read of the swarm for all deployments.
    """
    if ctx.settings.swarm:
        upstreams = runner_services.runner_upstreams(ctx.docker, ctx.settings)
        swarm = {item.deployment_id: upstreams.get(item.container) for item in running}
        return {deployment: address for deployment, address in swarm.items() if address}
    found = {item.deployment_id: upstream_of(ctx, item.container) for item in running}
    return {deployment: address for deployment, address in found.items() if address is not None}


def ensure_proxy_config(ctx: WorkerContext) -> bool:
    """Caddy runs its config (sent only when it runs another); False (logged) if it could not."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            proxy_config.ensure_proxy_config(ctx.settings)
        except proxy_config.ProxyError as exc:
            if attempt == ATTEMPTS:
                log.error("the proxy's config not loaded: %s", exc)
                return False
            time.sleep(RETRY_SECONDS)
        else:
            return True
    return False


class ProxyTableWriter:
    """Writes the proxy table the rows describe, and keeps the switches under way.

    ``_pending``: the deployments becoming running, and for each the ones it supersedes.
    Every refresh writes them as they will be, so a refresh by another job (a stop, the
    reconcile) never undoes a switch before its rows change. ``_settled_at``: when Caddy
    holds no cached answer from before this process's last change to the table.
    """

    def __init__(self) -> None:
        self._settled_at = 0.0
        self._pending: dict[str, tuple[str, ...]] = {}
        # One refresh at a time in this process: each writes the whole table it computed.
        self._lock = threading.Lock()

    def refresh(self, ctx: WorkerContext, *, settle: bool = True) -> bool:
        """Write the entries the database describes; False (logged) when they or Caddy's
        config could not be written.

        Rows of a switch under way count as they will be (see :meth:`switching`). Caddy's
        config is checked too and sent if Caddy runs another, so a proxy restarted without
        its saved config gets it back. With ``settle``, this waits until Caddy has no cached
        answer from before the last change (proxy_table.settle_seconds), this call's or
        another job's (a second stop job finds the table already written): then an old
        runner may stop, and a row may say the new one runs. A failure leaves the previous
        entries in place; the next refresh (at the latest the periodic reconcile job's,
        every minute) repairs them.
        """
        with self._lock:
            try:
                changed = self._write(ctx)
            except SQLAlchemyError as exc:
                log.error("proxy table not updated: %s", exc)
                return False
            if changed:
                self._settled_at = time.monotonic() + proxy_table.settle_seconds(ctx.settings)
            wait = self._settled_at - time.monotonic()
        loaded = ensure_proxy_config(ctx)
        if settle and wait > 0:
            time.sleep(wait)
        return loaded

    def _write(self, ctx: WorkerContext) -> bool:
        becoming = list(self._pending)
        leaving = {deployment for superseded in self._pending.values() for deployment in superseded}
        with ctx.sessions() as session:
            running = proxy_table.running_deployments(
                session, becoming_running=becoming, leaving=leaving
            )
            live = proxy_table.live_deployments(running, addresses_of(ctx, running))
            entries = proxy_table.entries_for(
                live,
                domain=ctx.settings.domain,
                custom=proxy_table.verified_domains(session),
                redirect_port=ctx.settings.proxy_redirect_port,
            )
            changed = proxy_table.write_table(session, entries)
            session.commit()
        return changed

    @contextlib.contextmanager
    def switching(
        self, ctx: WorkerContext, *, becoming_running: str, leaving: Collection[str]
    ) -> Iterator[None]:
        """Route a ready deployment as running and the ``leaving`` ones as gone, before the
        rows say so; the body changes the rows.

        On entry the table is written and Caddy's cached answers have expired, so a row
        saying running is true at once. Until exit every refresh keeps the switch, whatever
        the rows say meanwhile.
        """
        with self._lock:
            self._pending[becoming_running] = tuple(leaving)
        try:
            self.refresh(ctx)
            yield
        finally:
            with self._lock:
                self._pending.pop(becoming_running, None)
