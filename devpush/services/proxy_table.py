"""The proxy table: which runner answers for each host name (``proxy_routes``).

The worker writes the entries the rows describe (``devpush.workers.tasks.proxy_table``).
Caddy's config never changes with them (``devpush.services.proxy_config``): Caddy asks
the resolver (``devpush.resolver``) by DNS where a host's runner is, caches the answer
for ``proxy_route_refresh_seconds``, and asks again. So a URL moves to a new runner with
no config reload, and no request is dropped: a reload closes connections that arrive
during it. After a change the worker waits :func:`settle_seconds`, until every cached
answer is gone, before rows say so or an old runner stops.

The worker reads the rows (:func:`running_deployments`), asks Docker where their runners
answer, and hands those addresses down (:func:`live_deployments`): nothing here calls back.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Final

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from devpush.core.config import Settings
from devpush.models import (
    Deployment,
    DeploymentStatus,
    Domain,
    DomainStatus,
    Environment,
    EnvironmentKind,
    Project,
    ProxyTableRow,
)
from devpush.services.hosts import deployment_host, environment_host
from devpush.services.runner import container_name

log = logging.getLogger(__name__)

#: Added to Caddy's cache time before a change to the table counts as seen: a lookup
#: answered just before the change is cached from when its answer arrived.
SETTLE_MARGIN_SECONDS: Final = 0.25

#: Where the proxy reaches a runner: its IP on the runner network and its app port.
Address = tuple[str, int]


# Small exceptions and frozen records, alike in shape across devpush/ on purpose: each names
# its own case and fields; nothing to share but the decorator.
@dataclass(frozen=True, slots=True)
class HostEntry:
    """One host name and the runner behind it: a row of the proxy table."""

    host: str
    deployment_id: str
    address: str
    port: int


@dataclass(frozen=True, slots=True)
class RunningDeployment:
    """A deployment the rows say runs (or is about to), and its runner's container."""

    deployment_id: str
    environment_id: str
    host_label: str
    environment_name: str
    production: bool
    container: str


@dataclass(frozen=True, slots=True)
class LiveDeployment:
    """What a running deployment contributes to the table: its rows and its runner's address."""

    deployment_id: str
    environment_id: str
    host_label: str
    environment_name: str
    production: bool
    address: str
    port: int


@dataclass(frozen=True, slots=True)
class CustomDomain:
    """A verified custom domain: its environment, and whether it redirects to its twin."""

    name: str
    environment_id: str
    redirects: bool


#: Where a redirecting custom domain is routed: Caddy's own redirect server on loopback
#: (``proxy_config.redirect_server``, its port ``proxy_redirect_port``).
REDIRECT_ADDRESS: Final = "127.0.0.1"


def entries_for(
    live: Iterable[LiveDeployment],
    *,
    domain: str,
    custom: Iterable[CustomDomain] = (),
    redirect_port: int = 0,
) -> list[HostEntry]:
    """Every entry, given the running deployments in claim order (see :func:`running_deployments`).

    A verified custom domain follows its environment's newest running deployment, like
    the environment's own host; one that redirects goes to Caddy's redirect server
    (``redirect_port``) while its environment runs. Custom names come last: they are
    never under ``domain`` (``devpush.services.domains``), so they meet no other name.

    An environment follows its newest running deployment (the last one given). A name
    two rows claim stays with the first claim: production environments, then the other
    environments, then deployments, each in the given order, so an existing URL never
    moves to a newer project whose name happens to produce the same host.
    """
    live = list(live)
    newest: dict[str, LiveDeployment] = {}
    for item in live:
        newest[item.environment_id] = item  # an existing key keeps its place in the dict
    followed = sorted(newest.values(), key=lambda item: not item.production)  # stable
    candidates = [
        HostEntry(
            environment_host(
                environment_name=item.environment_name,
                production=item.production,
                host_label=item.host_label,
                domain=domain,
            ),
            item.deployment_id,
            item.address,
            item.port,
        )
        for item in followed
    ] + [
        HostEntry(
            deployment_host(
                deployment_id=item.deployment_id, host_label=item.host_label, domain=domain
            ),
            item.deployment_id,
            item.address,
            item.port,
        )
        for item in live
    ]
    for extra in custom:
        serving = newest.get(extra.environment_id)
        if serving is None:
            continue
        if extra.redirects:
            candidates.append(
                HostEntry(extra.name, serving.deployment_id, REDIRECT_ADDRESS, redirect_port)
            )
        else:
            candidates.append(
                HostEntry(extra.name, serving.deployment_id, serving.address, serving.port)
            )
    claimed: dict[str, HostEntry] = {}
    for entry in candidates:
        if entry.host not in claimed:
            claimed[entry.host] = entry
        elif claimed[entry.host] != entry:
            log.warning("host %s is claimed twice: the first claim keeps it", entry.host)
    return list(claimed.values())


def running_deployments(
    session: Session,
    *,
    becoming_running: Collection[str] = (),
    leaving: Collection[str] = (),
) -> list[RunningDeployment]:
    """Running deployments in claim order: by project, environment, then deployment age.

    Rows about to change are taken as they will be, so their entries are written before
    the rows say so: ``becoming_running`` count as running (their runners answer), and the
    deployments ``leaving`` (about to be superseded) count as gone.
    """
    is_live: ColumnElement[bool] = Deployment.status == DeploymentStatus.RUNNING
    if becoming_running:
        is_live = or_(is_live, Deployment.id.in_(list(becoming_running)))
    if leaving:
        is_live = and_(is_live, Deployment.id.not_in(list(leaving)))
    rows = session.execute(
        select(Deployment, Environment, Project)
        .join(Environment, Deployment.environment_id == Environment.id)
        .join(Project, Deployment.project_id == Project.id)
        .where(is_live)
        .order_by(
            Project.created_at,
            Project.id,
            Environment.created_at,
            Environment.id,
            Deployment.created_at,
            Deployment.id,
        )
    ).all()
    return [
        RunningDeployment(
            deployment_id=deployment.id,
            environment_id=environment.id,
            host_label=project.host_label,
            environment_name=environment.name,
            production=environment.kind is EnvironmentKind.PRODUCTION,
            container=deployment.container_id or container_name(deployment.id),
        )
        for deployment, environment, project in rows
    ]


def verified_domains(session: Session) -> list[CustomDomain]:
    """Every verified custom domain, oldest verification first."""
    rows = session.scalars(
        select(Domain)
        .where(Domain.status == DomainStatus.VERIFIED)
        .order_by(Domain.verified_at, Domain.id)
    )
    return [
        CustomDomain(row.name, row.environment_id, redirects=bool(row.redirect_to)) for row in rows
    ]


def live_deployments(
    running: Iterable[RunningDeployment], addresses: Mapping[str, Address]
) -> list[LiveDeployment]:
    """The ``running`` deployments whose runner has an address (by deployment id), in order."""
    live = []
    for item in running:
        address = addresses.get(item.deployment_id)
        if address is None:
            log.warning("deployment %s runs but its runner has no address", item.deployment_id)
            continue
        live.append(
            LiveDeployment(
                deployment_id=item.deployment_id,
                environment_id=item.environment_id,
                host_label=item.host_label,
                environment_name=item.environment_name,
                production=item.production,
                address=address[0],
                port=address[1],
            )
        )
    return live


def write_table(session: Session, entries: Iterable[HostEntry]) -> bool:
    """Make the proxy table hold exactly ``entries``; whether anything changed (not committed)."""
    current = {row.host: row for row in session.scalars(select(ProxyTableRow))}
    wanted = {entry.host: entry for entry in entries}
    for host in current.keys() - wanted.keys():
        session.delete(current[host])
    changed = [
        entry
        for host, entry in wanted.items()
        if host not in current
        or HostEntry(host, current[host].deployment_id, current[host].address, current[host].port)
        != entry
    ]
    for entry in changed:
        session.merge(ProxyTableRow(**asdict(entry)))
    return bool(changed) or current.keys() != wanted.keys()


def entry_of(session: Session, host: str) -> ProxyTableRow | None:
    """The proxy table's row for a host name (any case, with or without the final dot)."""
    return session.get(ProxyTableRow, host.lower().rstrip("."))


def entry_and_deployment(session: Session, host: str) -> tuple[ProxyTableRow, Deployment] | None:
    """The host's row and the deployment it routes to (its labels name the requests)."""
    row = entry_of(session, host)
    if row is None:
        return None
    deployment = session.get(Deployment, row.deployment_id)
    return None if deployment is None else (row, deployment)


def settle_seconds(settings: Settings) -> float:
    """How long after a change to the table Caddy may still use a cached answer from before it."""
    return settings.proxy_route_refresh_seconds + SETTLE_MARGIN_SECONDS
