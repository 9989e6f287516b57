"""The custom-domain jobs: a domain's DNS check, retried with back-off, and a routes refresh.

A check that finds the name pointing at the server marks it verified and rewrites the
proxy table at once (the environment's runner then answers for it, and Caddy may get
it a certificate). One that does not is scheduled again on the queue after
:data:`RETRY_DELAYS` (no worker thread waits); after the last, the domain is ``failed``
until a user asks to check again (``devpush.services.domains.check_again``).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

from sqlalchemy import and_, or_, select

from devpush.models import Domain, DomainStatus, Project, utcnow
from devpush.services import domain_check
from devpush.services.hosts import environment_host_of
from devpush.services.jobs import DomainJobs
from devpush.workers.tasks.context import WorkerContext

log = logging.getLogger(__name__)

#: Seconds before the next check, after each failed one: DNS changes take minutes to hours.
RETRY_DELAYS: Final = (15, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600)


def retry_delay(attempt: int) -> int | None:
    """The pause after failed check number ``attempt`` (1-based); None: give up."""
    return RETRY_DELAYS[attempt - 1] if attempt <= len(RETRY_DELAYS) else None


def run_domain_check(domain_id: str, *, ctx: WorkerContext, jobs: DomainJobs) -> None:
    """Check one domain; routed at once when verified, else scheduled again or failed."""
    with ctx.sessions() as session:
        domain = session.get(Domain, domain_id)
        if domain is None or domain.status is not DomainStatus.PENDING:
            return  # removed, or settled by another check meanwhile
        project = session.get(Project, domain.project_id)
        if project is None:
            return
        target = environment_host_of(domain.environment, project, ctx.settings)
        result = domain_check.check_name(
            domain.name, environment_host=target, settings=ctx.settings
        )
        now = utcnow()
        domain.attempts += 1
        domain.checked_at = now
        delay = None
        if result.verified:
            domain.status = DomainStatus.VERIFIED
            domain.verified_at = now
            domain.next_check_at = None
            domain.reason = result.reason
        elif (delay := retry_delay(domain.attempts)) is not None:
            domain.next_check_at = now + timedelta(seconds=delay)
            domain.reason = f"{result.reason}; checking again in {_duration(delay)}"
        else:
            domain.status = DomainStatus.FAILED
            domain.next_check_at = None
            domain.reason = (
                f"{result.reason}; gave up after {domain.attempts} checks: fix the DNS record,"
                " then check again"
            )
        session.commit()
        name = domain.name
    if result.verified:
        log.info("domain %s verified: %s", name, result.reason)
        ctx.proxy_table.refresh(ctx)
    elif delay is not None:
        jobs.enqueue_domain_check(domain_id, delay=delay)


#: A pending check this late is taken as lost (a queue emptied by hand): it runs again.
LOST_AFTER: Final = timedelta(minutes=5)


def run_domain_sweep(*, ctx: WorkerContext, jobs: DomainJobs) -> list[str]:
    """Enqueue the checks of pending domains whose scheduled check never ran; their ids."""
    late = utcnow() - LOST_AFTER
    with ctx.sessions() as session:
        lost = session.scalars(
            select(Domain.id).where(
                Domain.status == DomainStatus.PENDING,
                or_(
                    Domain.next_check_at < late,
                    and_(Domain.next_check_at.is_(None), Domain.created_at < late),
                ),
            )
        ).all()
    for domain_id in lost:
        jobs.enqueue_domain_check(domain_id)
    return list(lost)


def run_routes_refresh(*, ctx: WorkerContext) -> None:
    """Write the proxy table from the rows and wait out Caddy's cache (a domain removed)."""
    ctx.proxy_table.refresh(ctx)


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"
