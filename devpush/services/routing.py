"""Deployment URLs: host names from the database's rows, and the routing table.

Every running deployment answers on ``<short-id>-<project>.<domain>``, and every
environment on the URL of its newest running deployment: ``<project>.<domain>``
for production, ``<env>-<project>.<domain>`` for the others. ``<project>`` is the
project's host label, unique across teams (:func:`free_host_label`).

The worker writes the routes the rows describe into the routing table (``proxy_routes``,
:func:`refresh_routes`). Caddy's config never changes with them
(``devpush.services.proxy_config``): Caddy asks the route resolver (``devpush.resolver``)
by DNS where a host's runner is, caches the answer for ``proxy_route_refresh_seconds``,
and asks again. So a URL moves to a new runner with no config reload, and no request
is dropped: a reload closes connections that arrive during it. After a change the
worker waits :func:`settle_seconds`, until every cached answer is gone, before rows
say so or an old runner stops.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import asdict, dataclass
from typing import Final

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.models import (
    Deployment,
    DeploymentStatus,
    Environment,
    EnvironmentKind,
    Project,
    ProxyRoute,
)

log = logging.getLogger(__name__)

#: Characters of the deployment id in its host name.
SHORT_ID_LENGTH: Final = 8
#: A DNS label's limit (RFC 1035).
MAX_LABEL: Final = 63
#: A project's host label: short enough that an environment or deployment prefix never
#: cuts into it (see _fit).
MAX_HOST_LABEL: Final = 40
#: The DNS zone of the runners' names in the resolver's answers: ``10-0-0-7.<zone>`` is
#: 10.0.0.7. The name carries the IP, so it resolves as long as anything still dials it:
#: Caddy may use a cached SRV answer for a runner whose routes are already gone.
RUNNER_ZONE: Final = "runners.devpush."
#: Added to Caddy's cache time before a route change counts as seen: a lookup answered
#: just before the change is cached from when its answer arrived.
SETTLE_MARGIN_SECONDS: Final = 0.25


# Small exceptions and frozen records, alike in shape across devpush/ on purpose: each names
# its own case and fields; nothing to share but the decorator.
@dataclass(frozen=True, slots=True)
class Route:
    """One host name and the runner behind it: a row of the routing table."""

    host: str
    deployment_id: str
    address: str
    port: int


@dataclass(frozen=True, slots=True)
class LiveDeployment:
    """What a running deployment contributes to the routes, read from its rows."""

    deployment_id: str
    environment_id: str
    host_label: str
    environment_name: str
    production: bool
    address: str
    port: int


# Host names ------------------------------------------------------------------


def dns_label(text: str) -> str:
    """Lowercase letters, digits and inner dashes: ``feature/Logs`` → ``feature-logs``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _fit(prefix: str, slug: str) -> str:
    """``<prefix>-<slug>`` within one DNS label: a long prefix is cut and given a hash."""
    label = f"{prefix}-{slug}" if prefix else slug
    if len(label) <= MAX_LABEL:
        return label
    digest = hashlib.sha256(label.encode()).hexdigest()[:6]
    room = max(MAX_LABEL - len(slug) - len(digest) - 2, 1)
    return f"{prefix[:room].rstrip('-')}-{digest}-{slug}"[:MAX_LABEL].rstrip("-")


def deployment_host(*, deployment_id: str, host_label: str, domain: str) -> str:
    """``<short-id>-<project>.<domain>``: one deployment, for as long as it runs."""
    label = _fit(dns_label(deployment_id[:SHORT_ID_LENGTH]), dns_label(host_label))
    return f"{label}.{domain}"


def environment_host(
    *, environment_name: str, production: bool, host_label: str, domain: str
) -> str:
    """``<project>.<domain>`` for production, ``<env>-<project>.<domain>`` otherwise."""
    prefix = "" if production else dns_label(environment_name) or "env"
    return f"{_fit(prefix, dns_label(host_label))}.{domain}"


def labels_clash(a: str, b: str) -> bool:
    """Whether two projects' host names could meet: every host of a project is its label
    or ends with ``-<label>``, so they meet only when one label is the other's tail."""
    return a == b or a.endswith(f"-{b}") or b.endswith(f"-{a}")


def free_host_label(slug: str, *, team_slug: str, salt: str, taken: Iterable[str]) -> str:
    """A host label for a new project that clashes with none ``taken`` (every team's).

    The slug itself when free, then ``<slug>-<team>``, then ``<slug>-<hash>``: a second
    team's ``shop`` gets ``shop-acme``, never the first team's URLs. ``salt`` (the
    project's id) keeps the hashed fallbacks distinct.
    """
    taken = list(taken)
    base = dns_label(slug)[:MAX_HOST_LABEL].strip("-") or "project"

    def with_suffix(suffix: str) -> str:
        return f"{base[: MAX_HOST_LABEL - len(suffix) - 1].rstrip('-')}-{suffix}"

    team = dns_label(team_slug)[: MAX_HOST_LABEL // 2].strip("-")
    candidates = [base, *([with_suffix(team)] if team else [])]
    candidates += (
        with_suffix(hashlib.sha256(f"{salt}/{n}".encode()).hexdigest()[:6]) for n in range(100)
    )
    for candidate in candidates:
        if not any(labels_clash(candidate, other) for other in taken):
            return candidate
    raise ValueError(f"no free host label for {slug!r}")  # 100 hashes all taken: unreachable


def public_url(host: str, settings: Settings) -> str:
    """The address a user opens: the scheme and port links use (default ports left out)."""
    default = {"http": 80, "https": 443}[settings.public_scheme]
    port = settings.public_port
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{settings.public_scheme}://{host}{suffix}/"


def deployment_url(deployment: Deployment, settings: Settings) -> str | None:
    """The deployment's own URL while it runs; None once failed, stopped or superseded."""
    if deployment.status is not DeploymentStatus.RUNNING:
        return None
    return public_url(
        deployment_host(
            deployment_id=deployment.id,
            host_label=deployment.project.host_label,
            domain=settings.domain,
        ),
        settings,
    )


def environment_url(environment: Environment, settings: Settings) -> str | None:
    """The environment's URL while one of its deployments runs; None otherwise."""
    if not any(d.status is DeploymentStatus.RUNNING for d in environment.deployments):
        return None
    return public_url(
        environment_host(
            environment_name=environment.name,
            production=environment.kind is EnvironmentKind.PRODUCTION,
            host_label=environment.project.host_label,
            domain=settings.domain,
        ),
        settings,
    )


# The routing table ----------------------------------------------------------------


def routes_for(live: Iterable[LiveDeployment], *, domain: str) -> list[Route]:
    """Every route, given the running deployments in claim order (see :func:`live_deployments`).

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
        Route(
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
        Route(
            deployment_host(
                deployment_id=item.deployment_id, host_label=item.host_label, domain=domain
            ),
            item.deployment_id,
            item.address,
            item.port,
        )
        for item in live
    ]
    claimed: dict[str, Route] = {}
    for route in candidates:
        if route.host not in claimed:
            claimed[route.host] = route
        elif claimed[route.host] != route:
            log.warning("host %s is claimed twice: the first claim keeps it", route.host)
    return list(claimed.values())


def runner_name(address: str) -> str:
    """The name the resolver gives a runner's IP (an SRV target): ``10-0-0-7.runners.devpush.``."""
    return f"{address.replace('.', '-')}.{RUNNER_ZONE}"


def runner_address(name: str) -> str | None:
    """The IPv4 address a :func:`runner_name` stands for (None: not such a name)."""
    label, dot, zone = name.lower().rstrip(".").partition(".")
    if not dot or f"{zone}." != RUNNER_ZONE:
        return None
    try:
        return str(ipaddress.IPv4Address(label.replace("-", ".")))
    except ValueError:
        return None


# From the database ---------------------------------------------------------------------

#: Where Caddy reaches a running deployment's runner (IP, port), from its row (None: no runner).
Upstream = Callable[[Deployment], "tuple[str, int] | None"]


def live_deployments(
    session: Session,
    upstream: Upstream,
    *,
    becoming_running: Collection[str] = (),
    leaving: Collection[str] = (),
) -> list[LiveDeployment]:
    """Running deployments in claim order: by project, environment, then deployment age.

    Rows about to change are taken as they will be, so their routes are loaded before the
    rows say so: ``becoming_running`` count as running (their runners answer), and the
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
    live = []
    for deployment, environment, project in rows:
        address = upstream(deployment)
        if address is None:
            log.warning("deployment %s runs but its runner has no address", deployment.id)
            continue
        live.append(
            LiveDeployment(
                deployment_id=deployment.id,
                environment_id=environment.id,
                host_label=project.host_label,
                environment_name=environment.name,
                production=environment.kind is EnvironmentKind.PRODUCTION,
                address=address[0],
                port=address[1],
            )
        )
    return live


def write_routes(session: Session, routes: Iterable[Route]) -> bool:
    """Make the routing table hold exactly ``routes``; whether anything changed (not committed)."""
    current = {row.host: row for row in session.scalars(select(ProxyRoute))}
    wanted = {route.host: route for route in routes}
    for host in current.keys() - wanted.keys():
        session.delete(current[host])
    changed = [
        route
        for host, route in wanted.items()
        if host not in current
        or Route(host, current[host].deployment_id, current[host].address, current[host].port)
        != route
    ]
    for route in changed:
        session.merge(ProxyRoute(**asdict(route)))
    return bool(changed) or current.keys() != wanted.keys()


def route_of(session: Session, host: str) -> ProxyRoute | None:
    """The routing table's row for a host name (any case, with or without the final dot)."""
    return session.get(ProxyRoute, host.lower().rstrip("."))


def settle_seconds(settings: Settings) -> float:
    """How long after a route change Caddy may still use a cached answer from before it."""
    return settings.proxy_route_refresh_seconds + SETTLE_MARGIN_SECONDS


def refresh_routes(
    sessions: sessionmaker[Session],
    settings: Settings,
    upstream: Upstream,
    *,
    becoming_running: Collection[str] = (),
    leaving: Collection[str] = (),
) -> bool:
    """Write the routes the database describes now into the routing table; whether it changed.

    Call after anything that changes which deployments run: a deployment ready, stopped,
    superseded or failed, an environment or a project deleted (its rows gone, its routes go).
    ``becoming_running``, ``leaving``: rows about to change (see live_deployments).
    """
    with sessions() as session:
        live = live_deployments(
            session, upstream, becoming_running=becoming_running, leaving=leaving
        )
        changed = write_routes(session, routes_for(live, domain=settings.domain))
        session.commit()
    return changed
