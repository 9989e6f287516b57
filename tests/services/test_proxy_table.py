"""The proxy table, built from rows (no proxy involved)."""

from __future__ import annotations

from huey import MemoryHuey
from sqlalchemy import select
from sqlalchemy.orm import Session

from devpush.models import DeploymentStatus, Project, ProxyTableRow
from devpush.services.deployments import create_deployment, transition
from devpush.services.proxy_table import (
    HostEntry,
    LiveDeployment,
    entries_for,
    entry_of,
    live_deployments,
    running_deployments,
    write_table,
)
from devpush.services.runner import container_name
from devpush.workers.queue import DeployQueue
from tests.fixtures.db import add_deployment

DOMAIN = "localhost"


def live(
    deployment_id: str,
    *,
    env: str = "production",
    slug: str = "shop",
    address: str = "10.0.0.2",
    environment_id: str | None = None,
) -> LiveDeployment:
    return LiveDeployment(
        deployment_id=deployment_id,
        environment_id=environment_id or f"{slug}/{env}",
        host_label=slug,
        environment_name=env,
        production=env == "production",
        address=address,
        port=8000,
    )


def test_an_environment_follows_its_newest_running_deployment() -> None:
    routes = entries_for(
        [
            live("aaaaaaaa01", address="10.0.0.2"),
            live("bbbbbbbb02", address="10.0.0.3"),
            live("cccccccc03", env="feature/x", address="10.0.0.4"),
        ],
        domain=DOMAIN,
    )
    assert routes == [
        HostEntry("shop.localhost", "bbbbbbbb02", "10.0.0.3", 8000),
        HostEntry("feature-x-shop.localhost", "cccccccc03", "10.0.0.4", 8000),
        HostEntry("aaaaaaaa-shop.localhost", "aaaaaaaa01", "10.0.0.2", 8000),
        HostEntry("bbbbbbbb-shop.localhost", "bbbbbbbb02", "10.0.0.3", 8000),
        HostEntry("cccccccc-shop.localhost", "cccccccc03", "10.0.0.4", 8000),
    ]


def test_no_running_deployment_no_entry() -> None:
    assert entries_for([], domain=DOMAIN) == []


def test_a_name_claimed_twice_stays_with_the_first_claim() -> None:
    # Project "a-b" (production) and project "b" (environment "a") both make a-b.localhost;
    # two teams may also each have a project "shop".
    routes = entries_for(
        [
            live("11111111", slug="a-b", address="10.0.0.2"),
            live("22222222", slug="b", env="a", address="10.0.0.3"),
            live("33333333", slug="shop", address="10.0.0.4", environment_id="team1"),
            live("44444444", slug="shop", address="10.0.0.5", environment_id="team2"),
        ],
        domain=DOMAIN,
    )
    hosts = {route.host: route.address for route in routes}
    assert hosts["a-b.localhost"] == "10.0.0.2"
    assert hosts["shop.localhost"] == "10.0.0.4"
    assert hosts["44444444-shop.localhost"] == "10.0.0.5"
    assert len(hosts) == len(routes)


def _running(session: Session, project: Project) -> str:
    return add_deployment(session, project, DeploymentStatus.BUILDING, DeploymentStatus.RUNNING)


def test_the_proxy_table_holds_exactly_the_entries_and_says_when_it_changed(
    session: Session, project: Project
) -> None:
    a, b = (_running(session, project) for _ in range(2))
    first = [
        HostEntry("shop.localhost", a, "10.0.0.2", 8000),
        HostEntry(f"{a[:8]}-shop.localhost", a, "10.0.0.2", 8000),
    ]
    assert write_table(session, first) is True
    session.commit()
    assert write_table(session, first) is False
    moved = [HostEntry("shop.localhost", b, "10.0.0.3", 3000)]
    assert write_table(session, moved) is True
    session.commit()
    rows = session.scalars(select(ProxyTableRow)).all()
    assert [(r.host, r.deployment_id, r.address, r.port) for r in rows] == [
        ("shop.localhost", b, "10.0.0.3", 3000)
    ]
    # What the resolver reads: any case, with or without the final dot.
    route = entry_of(session, "SHOP.localhost.")
    assert route is not None and route.port == 3000
    assert entry_of(session, "other.localhost") is None


def test_rows_about_to_change_are_taken_as_they_will_be(session: Session, project: Project) -> None:
    queue = DeployQueue(MemoryHuey(immediate=False))
    older, newer = (
        create_deployment(session, project=project, branch=None, created_by=None, queue=queue)
        for _ in range(2)
    )
    for status in (DeploymentStatus.BUILDING, DeploymentStatus.RUNNING):
        transition(session, deployment_id=older.id, to=status)
    transition(session, deployment_id=newer.id, to=DeploymentStatus.BUILDING)
    session.commit()

    running = [item.deployment_id for item in running_deployments(session)]
    assert running == [older.id]
    # The worker routes a ready runner first, then marks it running: the environment's
    # URL already follows the newer one when its status changes.
    both = running_deployments(session, becoming_running=[newer.id])
    assert [item.deployment_id for item in both] == [older.id, newer.id]
    # In the same table write, the deployment it supersedes loses its own URL.
    switched = running_deployments(session, becoming_running=[newer.id], leaving=[older.id])
    assert [item.deployment_id for item in switched] == [newer.id]


def test_only_deployments_whose_runner_has_an_address_are_live(
    session: Session, project: Project
) -> None:
    a, b = (_running(session, project) for _ in range(2))
    running = running_deployments(session)
    assert [item.container for item in running] == [container_name(a), container_name(b)]
    live = live_deployments(running, {b: ("10.0.0.3", 3000)})
    assert [(item.deployment_id, item.address, item.port) for item in live] == [
        (b, "10.0.0.3", 3000)
    ]
