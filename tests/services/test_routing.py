"""Deployment URLs and the routing table, built from rows (no proxy involved)."""

from __future__ import annotations

import re

from huey import MemoryHuey
from sqlalchemy import select
from sqlalchemy.orm import Session

from devpush.core.config import Settings
from devpush.models import DeploymentStatus, Project, ProxyRoute
from devpush.services.deployments import create_deployment, transition
from devpush.services.routing import (
    MAX_HOST_LABEL,
    LiveDeployment,
    Route,
    deployment_host,
    dns_label,
    environment_host,
    free_host_label,
    labels_clash,
    live_deployments,
    public_url,
    route_of,
    routes_for,
    runner_address,
    runner_name,
    write_routes,
)
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


def test_host_names() -> None:
    assert deployment_host(deployment_id="3f2a9c01deadbeef", host_label="shop", domain=DOMAIN) == (
        "3f2a9c01-shop.localhost"
    )
    production = environment_host(
        environment_name="production", production=True, host_label="shop", domain="example.com"
    )
    assert production == "shop.example.com"
    preview = environment_host(
        environment_name="feature/New_Cart", production=False, host_label="shop", domain=DOMAIN
    )
    assert preview == "feature-new-cart-shop.localhost"


def test_long_names_stay_one_dns_label_and_distinct() -> None:
    slug = "s" * 40
    a = environment_host(
        environment_name="x" * 60 + "a", production=False, host_label=slug, domain=DOMAIN
    )
    b = environment_host(
        environment_name="x" * 60 + "b", production=False, host_label=slug, domain=DOMAIN
    )
    for host in (a, b):
        label = host.removesuffix(".localhost")
        assert len(label) <= 63 and label.endswith(slug)
        assert dns_label(label) == label
    assert a != b


def test_an_environment_follows_its_newest_running_deployment() -> None:
    routes = routes_for(
        [
            live("aaaaaaaa01", address="10.0.0.2"),
            live("bbbbbbbb02", address="10.0.0.3"),
            live("cccccccc03", env="feature/x", address="10.0.0.4"),
        ],
        domain=DOMAIN,
    )
    assert routes == [
        Route("shop.localhost", "bbbbbbbb02", "10.0.0.3", 8000),
        Route("feature-x-shop.localhost", "cccccccc03", "10.0.0.4", 8000),
        Route("aaaaaaaa-shop.localhost", "aaaaaaaa01", "10.0.0.2", 8000),
        Route("bbbbbbbb-shop.localhost", "bbbbbbbb02", "10.0.0.3", 8000),
        Route("cccccccc-shop.localhost", "cccccccc03", "10.0.0.4", 8000),
    ]


def test_no_running_deployment_no_route() -> None:
    assert routes_for([], domain=DOMAIN) == []


def test_a_name_claimed_twice_stays_with_the_first_claim() -> None:
    # Project "a-b" (production) and project "b" (environment "a") both make a-b.localhost;
    # two teams may also each have a project "shop".
    routes = routes_for(
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


def test_a_runner_name_carries_its_ip() -> None:
    assert runner_name("10.0.0.7") == "10-0-0-7.runners.devpush."
    assert runner_address("10-0-0-7.runners.devpush.") == "10.0.0.7"
    assert runner_address("10-0-0-7.RUNNERS.devpush") == "10.0.0.7"  # any case, any dot
    for other in (
        "shop.localhost",
        "10-0-0-7.elsewhere.",
        "10-0-0.runners.devpush.",
        "10-0-0-999.runners.devpush.",
        "a.10-0-0-7.runners.devpush.",
        "runners.devpush.",
    ):
        assert runner_address(other) is None, other


def test_public_urls_leave_out_default_ports() -> None:
    assert public_url("shop.localhost", Settings(public_port=8080)) == "http://shop.localhost:8080/"
    https = Settings(public_scheme="https", public_port=None)
    assert public_url("shop.example.com", https) == "https://shop.example.com/"
    assert public_url("a.example.com", Settings(public_scheme="https", public_port=443)) == (
        "https://a.example.com/"
    )


def _running(session: Session, project: Project) -> str:
    return add_deployment(session, project, DeploymentStatus.BUILDING, DeploymentStatus.RUNNING)


def test_the_routing_table_holds_exactly_the_routes_and_says_when_it_changed(
    session: Session, project: Project
) -> None:
    a, b = (_running(session, project) for _ in range(2))
    first = [
        Route("shop.localhost", a, "10.0.0.2", 8000),
        Route(f"{a[:8]}-shop.localhost", a, "10.0.0.2", 8000),
    ]
    assert write_routes(session, first) is True
    session.commit()
    assert write_routes(session, first) is False
    moved = [Route("shop.localhost", b, "10.0.0.3", 3000)]
    assert write_routes(session, moved) is True
    session.commit()
    rows = session.scalars(select(ProxyRoute)).all()
    assert [(r.host, r.deployment_id, r.address, r.port) for r in rows] == [
        ("shop.localhost", b, "10.0.0.3", 3000)
    ]
    # What the resolver reads: any case, with or without the final dot.
    route = route_of(session, "SHOP.localhost.")
    assert route is not None and route.port == 3000
    assert route_of(session, "other.localhost") is None


def test_rows_about_to_change_are_routed_as_they_will_be(
    session: Session, project: Project
) -> None:
    queue = DeployQueue(MemoryHuey(immediate=False))
    older, newer = (
        create_deployment(session, project=project, branch=None, created_by=None, queue=queue)
        for _ in range(2)
    )
    for status in (DeploymentStatus.BUILDING, DeploymentStatus.RUNNING):
        transition(session, deployment_id=older.id, to=status)
    transition(session, deployment_id=newer.id, to=DeploymentStatus.BUILDING)
    session.commit()

    def upstream(deployment: object) -> tuple[str, int]:
        return ("10.0.0.2", 8000)

    running = [item.deployment_id for item in live_deployments(session, upstream)]
    assert running == [older.id]
    # The worker routes a ready runner first, then marks it running: the environment's
    # URL already follows the newer one when its status changes.
    both = live_deployments(session, upstream, becoming_running=[newer.id])
    assert [item.deployment_id for item in both] == [older.id, newer.id]
    # In the same table write, the deployment it supersedes loses its own URL.
    switched = live_deployments(session, upstream, becoming_running=[newer.id], leaving=[older.id])
    assert [item.deployment_id for item in switched] == [newer.id]


def test_host_labels_clash_when_one_is_the_others_tail() -> None:
    assert labels_clash("shop", "shop")
    assert labels_clash("preview-shop", "shop")  # preview-shop.<domain> is shop's preview
    assert labels_clash("shop", "a1b2c3d4-shop")  # a deployment host of "shop"
    assert not labels_clash("shop", "shopping")
    assert not labels_clash("shop", "shop-acme")


def test_a_free_host_label_keeps_the_slug_then_adds_the_team_then_a_hash() -> None:
    assert free_host_label("shop", team_slug="acme", salt="p1", taken=[]) == "shop"
    assert free_host_label("shop", team_slug="acme", salt="p1", taken=["shop"]) == "shop-acme"
    hashed = free_host_label("shop", team_slug="acme", salt="p1", taken=["shop", "shop-acme"])
    assert re.fullmatch(r"shop-[0-9a-f]{6}", hashed)
    assert hashed != free_host_label(
        "shop", team_slug="acme", salt="p2", taken=["shop", "shop-acme"]
    )
    # Long names fit, and leave room for an environment's prefix.
    long = free_host_label("x" * 100, team_slug="t" * 100, salt="p1", taken=["x" * MAX_HOST_LABEL])
    assert len(long) <= MAX_HOST_LABEL and not labels_clash(long, "x" * MAX_HOST_LABEL)
    # Every host of a label ends in it: the environment and deployment hosts below.
    host = environment_host(
        environment_name="y" * 63, production=False, host_label=long, domain=DOMAIN
    )
    assert host.endswith(f"-{long}.{DOMAIN}")
