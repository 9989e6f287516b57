"""The worker's proxy-table refreshes: a switch under way survives other jobs' refreshes.

Where runners answer is given here (``upstream_of`` replaced), and the proxy's config
check is left out: tests/e2e/test_routing.py runs the whole path on the real engine and
Caddy.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.models import DeploymentStatus, Project, ProxyTableRow
from devpush.services.deployments import transition
from devpush.services.runner import container_name
from devpush.workers.tasks import proxy_writer
from devpush.workers.tasks.context import WorkerContext
from tests.fixtures.db import add_deployment

ADDRESSES: dict[str, str] = {}


@pytest.fixture
def ctx(sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> WorkerContext:
    def upstream_of(_ctx: WorkerContext, container: str) -> tuple[str, int]:
        return ADDRESSES[container], 8000

    monkeypatch.setattr(proxy_writer, "upstream_of", upstream_of)
    monkeypatch.setattr(proxy_writer, "ensure_proxy_config", lambda _ctx: True)
    settings = Settings(proxy_route_refresh_seconds=0.05)
    # No Docker: upstream_of, its only use here, is replaced.
    return WorkerContext(settings=settings, sessions=sessions, docker=None)  # type: ignore[arg-type]


def table(sessions: sessionmaker[Session]) -> dict[str, str]:
    with sessions() as session:
        return {row.host: row.address for row in session.scalars(select(ProxyTableRow))}


def deployment(session: Session, project: Project, *statuses: DeploymentStatus) -> str:
    created = add_deployment(session, project, *statuses)
    ADDRESSES[container_name(created)] = f"10.0.0.{len(ADDRESSES) + 2}"
    return created


def test_a_refresh_during_a_switch_keeps_it_until_the_rows_change(
    ctx: WorkerContext, sessions: sessionmaker[Session], session: Session, project: Project
) -> None:
    old = deployment(session, project, DeploymentStatus.BUILDING, DeploymentStatus.RUNNING)
    new = deployment(session, project, DeploymentStatus.BUILDING)
    host = f"{project.host_label}.localhost"
    assert ctx.proxy_table.refresh(ctx)
    assert (
        table(sessions)[host] == ADDRESSES[container_name(old)]
    )  # the rows alone: the old one runs

    with ctx.proxy_table.switching(ctx, becoming_running=new, leaving=[old]):
        switched = table(sessions)
        assert switched[host] == ADDRESSES[container_name(new)]
        assert f"{new[:8]}-{project.host_label}.localhost" in switched
        assert f"{old[:8]}-{project.host_label}.localhost" not in switched
        # Another job refreshes (a stop, the reconcile) before the rows change: it must
        # not move the URL back to the runner about to stop.
        assert ctx.proxy_table.refresh(ctx)
        assert table(sessions) == switched
        transition(session, deployment_id=new, to=DeploymentStatus.RUNNING)
        transition(session, deployment_id=old, to=DeploymentStatus.SUPERSEDED)
        session.commit()
    assert ctx.proxy_table.refresh(ctx)
    assert table(sessions) == switched  # the rows now say what the switch did
