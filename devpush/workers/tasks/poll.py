"""The poller: for servers a forge cannot reach, ``git ls-remote --heads`` instead of webhooks.

Every minute the worker looks for projects whose ``poll_interval_seconds`` has passed
since ``polled_at``, lists the repository's branch heads with the project's
credentials and compares them with ``polled_heads``: a branch whose head changed (or a
new one) is deployed as a push would be (``services.push``), a deleted one stops as
a deleted branch does; each is recorded as a delivery of the forge ``"poll"``. The
first poll of a project only records the heads: turning the poller on deploys nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.core.crypto import DecryptionError, fernet_for
from devpush.models import DeliveryResult, DeployTrigger, Project, utcnow
from devpush.services import push
from devpush.services.deliveries import record_delivery
from devpush.services.git import GitError, list_heads, local_roots, parse_remote
from devpush.services.jobs import DeployJobs
from devpush.services.project_git import project_credentials

log = logging.getLogger(__name__)

#: How the deliveries list names what the poller saw.
FORGE = "poll"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite drops the zone


def due_projects(session: Session, *, now: datetime) -> list[Project]:
    projects = session.scalars(
        select(Project).where(Project.poll_interval_seconds.is_not(None)).order_by(Project.id)
    ).all()
    return [
        p
        for p in projects
        if p.polled_at is None
        or _aware(p.polled_at) + timedelta(seconds=p.poll_interval_seconds or 0) <= now
    ]


def run_poll(
    *,
    settings: Settings,
    sessions: sessionmaker[Session],
    queue: DeployJobs,
    now: datetime | None = None,
) -> int:
    """Poll every due project once; how many deliveries (deploys, stops, ignores) it made."""
    now = now or utcnow()
    with sessions() as session:
        ids = [p.id for p in due_projects(session, now=now)]
    return sum(_poll_project(settings, sessions, queue, project_id, now) for project_id in ids)


def _poll_project(
    settings: Settings,
    sessions: sessionmaker[Session],
    queue: DeployJobs,
    project_id: str,
    now: datetime,
) -> int:
    with sessions() as session:
        project = session.get(Project, project_id)
        if project is None:
            return 0
        try:
            credentials = project_credentials(
                project, fernet_for(settings.secret_key.get_secret_value())
            )
            heads = list_heads(
                parse_remote(project.repo_url, roots=local_roots(settings)),
                credentials=credentials,
            )
        except (GitError, DecryptionError) as exc:
            log.warning("poll of project %s failed: %s", project.slug, exc)
            project.polled_at = now
            session.commit()
            return 0
        before = project.polled_heads
        made = 0 if before is None else _act(session, settings, queue, project, before, heads)
        project = session.get(Project, project_id, populate_existing=True) or project
        project.polled_heads = heads
        project.polled_at = now
        session.commit()
        return made


def _act(
    session: Session,
    settings: Settings,
    queue: DeployJobs,
    project: Project,
    before: dict[str, str],
    heads: dict[str, str],
) -> int:
    made = 0
    for branch, commit in sorted(heads.items()):
        if before.get(branch) == commit:
            continue
        seen = push.Push(project, branch, commit, DeployTrigger.POLL)
        outcome = push.deploy_push(session, seen, queue=queue)
        _record(session, settings, project, "push", branch, commit, outcome)
        made += 1
    for branch in sorted(set(before) - set(heads)):
        outcome = push.stop_branch(session, project=project, branch=branch, queue=queue)
        _record(session, settings, project, "delete", branch, None, outcome)
        made += 1
    return made


def _record(
    session: Session,
    settings: Settings,
    project: Project,
    event: str,
    branch: str,
    commit: str | None,
    outcome: push.PushOutcome,
) -> None:
    if outcome.result in (DeliveryResult.IGNORED, DeliveryResult.REFUSED):
        session.rollback()  # an ignored push leaves nothing half-made behind
    record_delivery(
        session,
        project=project,
        forge=FORGE,
        event=event,
        delivery=None,
        result=outcome.result,
        reason=outcome.reason,
        branch=branch,
        commit=commit,
        deployment_id=outcome.deployment.id if outcome.deployment else None,
        keep=settings.webhook_deliveries_kept,
    )
