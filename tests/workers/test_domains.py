"""The domain-check job against a DNS server on loopback: verified → routed at once;
not yet → scheduled again with back-off, then failed; a lost check is swept up.

Where runners answer is given here (``upstream_of`` replaced) and the proxy's config
check is left out: tests/e2e/test_domains.py runs the whole path with Caddy and Pebble.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.models import DeploymentStatus, Domain, DomainStatus, Project, ProxyTableRow, utcnow
from devpush.services.environments import ensure_production_environment
from devpush.workers.tasks import proxy_writer
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.tasks.domains import RETRY_DELAYS, run_domain_check, run_domain_sweep
from tests.fixtures.db import add_deployment
from tests.fixtures.dns_zone import DnsZone


@dataclass
class Jobs:
    checks: list[tuple[str, float]] = field(default_factory=list)

    def enqueue_domain_check(self, domain_id: str, *, delay: float = 0) -> None:
        self.checks.append((domain_id, delay))

    def enqueue_routes_refresh(self) -> None:
        pass


@pytest.fixture
def ctx(
    sessions: sessionmaker[Session], dns_zone: DnsZone, monkeypatch: pytest.MonkeyPatch
) -> WorkerContext:
    monkeypatch.setattr(proxy_writer, "upstream_of", lambda _ctx, _container: ("10.0.0.2", 8000))
    monkeypatch.setattr(proxy_writer, "ensure_proxy_config", lambda _ctx: True)
    settings = Settings(
        proxy_route_refresh_seconds=0.05,
        server_addresses="203.0.113.7",
        domain_dns_resolver=dns_zone.address,
    )
    return WorkerContext(settings=settings, sessions=sessions, docker=None)  # type: ignore[arg-type]


def add_domain(session: Session, project: Project, name: str) -> str:
    environment = ensure_production_environment(session, project=project)
    domain = Domain(name=name, project_id=project.id, environment_id=environment.id)
    session.add(domain)
    session.commit()
    return domain.id


def test_a_verified_domain_is_routed_to_its_environments_runner(
    ctx: WorkerContext, session: Session, project: Project, dns_zone: DnsZone
) -> None:
    deployment = add_deployment(
        session, project, DeploymentStatus.BUILDING, DeploymentStatus.RUNNING
    )
    domain_id = add_domain(session, project, "example.com")
    dns_zone.records["example.com"] = ["203.0.113.7"]
    jobs = Jobs()
    run_domain_check(domain_id, ctx=ctx, jobs=jobs)
    with ctx.sessions() as fresh:
        domain = fresh.get(Domain, domain_id)
        assert domain is not None
        assert (domain.status, domain.attempts) == (DomainStatus.VERIFIED, 1)
        assert domain.reason == "example.com points at 203.0.113.7"
        row = fresh.get(ProxyTableRow, "example.com")
        assert row is not None and (row.deployment_id, row.address) == (deployment, "10.0.0.2")
    assert jobs.checks == []


def test_a_name_not_pointing_here_is_checked_again_then_fails(
    ctx: WorkerContext, session: Session, project: Project, dns_zone: DnsZone
) -> None:
    domain_id = add_domain(session, project, "example.com")
    dns_zone.records["example.com"] = ["192.0.2.1"]
    jobs = Jobs()
    for attempt, delay in enumerate(RETRY_DELAYS, start=1):
        run_domain_check(domain_id, ctx=ctx, jobs=jobs)
        assert jobs.checks[-1] == (domain_id, delay), attempt
    with ctx.sessions() as fresh:
        domain = fresh.get(Domain, domain_id)
        assert domain is not None and domain.status is DomainStatus.PENDING
        assert domain.next_check_at is not None
    run_domain_check(domain_id, ctx=ctx, jobs=jobs)
    assert len(jobs.checks) == len(RETRY_DELAYS)  # no more
    with ctx.sessions() as fresh:
        domain = fresh.get(Domain, domain_id)
        assert domain is not None and domain.status is DomainStatus.FAILED
        assert "points at 192.0.2.1, not at this server" in domain.reason
        assert f"gave up after {len(RETRY_DELAYS) + 1} checks" in domain.reason
        assert fresh.get(ProxyTableRow, "example.com") is None
    # A failed or removed domain is left alone by a late check.
    run_domain_check(domain_id, ctx=ctx, jobs=jobs)
    run_domain_check("0" * 32, ctx=ctx, jobs=jobs)
    assert len(jobs.checks) == len(RETRY_DELAYS)


def test_the_sweep_enqueues_checks_that_never_ran(
    ctx: WorkerContext, session: Session, project: Project
) -> None:
    late = add_domain(session, project, "late.example.com")
    lost = add_domain(session, project, "lost.example.com")
    on_time = add_domain(session, project, "soon.example.com")
    with ctx.sessions() as fresh:
        for domain_id, next_check, created in (
            (late, utcnow() - timedelta(minutes=30), utcnow() - timedelta(hours=1)),
            (lost, None, utcnow() - timedelta(minutes=10)),
            (on_time, utcnow() + timedelta(minutes=1), utcnow() - timedelta(hours=1)),
        ):
            domain = fresh.get(Domain, domain_id)
            assert domain is not None
            domain.next_check_at, domain.created_at = next_check, created
        fresh.commit()
    jobs = Jobs()
    assert sorted(run_domain_sweep(ctx=ctx, jobs=jobs)) == sorted([late, lost])
    assert sorted(jobs.checks) == sorted([(late, 0), (lost, 0)])
