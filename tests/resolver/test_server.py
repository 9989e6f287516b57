"""The route resolver over real UDP: what Caddy asks, and what it gets back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dnslib import QTYPE, RCODE, DNSRecord
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import Deployment, DeploymentStatus, Project
from devpush.resolver import server as resolver_server
from devpush.resolver.health import check
from devpush.resolver.names import RouteLabels, route_name, runner_name
from devpush.resolver.server import Listen, serve
from devpush.services import proxy_config
from devpush.services.proxy_table import HostEntry, write_table
from devpush_dev.ports import free_port
from devpush_dev.resolver_process import start_resolver
from tests.fixtures.db import add_deployment

#: Where the 404 server of the Caddy these resolvers answer listens (proxy_not_found_port).
NOT_FOUND_PORT = 8404


def ask(port: int, name: str, qtype: str) -> DNSRecord:
    raw = DNSRecord.question(name, qtype).send("127.0.0.1", port, timeout=2)
    return DNSRecord.parse(raw)


def running(session: Session, project: Project) -> str:
    return add_deployment(session, project, DeploymentStatus.BUILDING, DeploymentStatus.RUNNING)


def target(session: Session, deployment_id: str, address: str) -> str:
    """The SRV target naming the deployment's runner at ``address`` (and its labels)."""
    deployment = session.get(Deployment, deployment_id)
    assert deployment is not None
    labels = RouteLabels(
        project_id=deployment.project_id,
        environment_id=deployment.environment_id,
        branch=deployment.branch,
        deployment_id=deployment.id,
    )
    return route_name(address, labels)


@pytest.fixture
def port(sessions: sessionmaker[Session]) -> Iterator[int]:
    port = free_port()
    server = serve(sessions, Listen("127.0.0.1", port), not_found_port=NOT_FOUND_PORT)
    yield port
    server.stop()


def test_a_host_resolves_to_its_runner_and_port(
    port: int, session: Session, project: Project
) -> None:
    deployment = running(session, project)
    write_table(session, [HostEntry("shop.localhost", deployment, "10.0.0.7", 3000)])
    session.commit()

    srv = ask(port, "shop.localhost.", "SRV")
    assert srv.header.rcode == RCODE.NOERROR
    (record,) = srv.rr
    assert (str(record.rdata.target), record.rdata.port) == (
        target(session, deployment, "10.0.0.7"),
        3000,
    )
    assert str(record.rdata.target).endswith(".10-0-0-7.runners.devpush.")
    assert record.ttl == 0  # Caddy caches for its own refresh time, nothing else may
    # Host names are case-insensitive.
    assert ask(port, "SHOP.Localhost.", "SRV").rr[0].rdata.port == 3000

    (address,) = ask(port, runner_name("10.0.0.7"), "A").rr
    assert str(address.rdata) == "10.0.0.7"
    # Names that exist, asked for a type they lack: no records, not NXDOMAIN.
    for name, qtype in ((runner_name("10.0.0.7"), "AAAA"), ("shop.localhost.", "A")):
        reply = ask(port, name, qtype)
        assert (reply.header.rcode, reply.rr) == (RCODE.NOERROR, [])


def test_a_host_no_deployment_holds_goes_to_the_proxys_404_server(port: int) -> None:
    # A real answer, not NXDOMAIN: Caddy keeps its last answer when a lookup fails, so a
    # name that goes away must be sent somewhere, or it would keep its old runner.
    for name in ("nothing.localhost.", "devpush."):
        reply = ask(port, name, "SRV")
        assert reply.header.rcode == RCODE.NOERROR
        (record,) = reply.rr
        assert (str(record.rdata.target), record.rdata.port) == (
            runner_name(proxy_config.NOT_FOUND_ADDRESS),
            NOT_FOUND_PORT,
        )
    assert str(ask(port, runner_name("127.0.0.1"), "A").rr[0].rdata) == "127.0.0.1"


def test_unknown_names_do_not_exist(port: int) -> None:
    for name, qtype in (
        ("nothing.localhost.", "A"),
        ("0123456789abcdef.runners.devpush.", "A"),
        ("10-0-0-300.runners.devpush.", "A"),
    ):
        assert ask(port, name, qtype).header.rcode == RCODE.NXDOMAIN


def test_a_moved_route_is_answered_at_the_next_question(
    port: int, session: Session, project: Project
) -> None:
    old, new = running(session, project), running(session, project)
    write_table(session, [HostEntry("shop.localhost", old, "10.0.0.7", 3000)])
    session.commit()
    assert str(ask(port, "shop.localhost.", "SRV").rr[0].rdata.target) == target(
        session, old, "10.0.0.7"
    )
    write_table(session, [HostEntry("shop.localhost", new, "10.0.0.8", 3000)])
    session.commit()
    assert str(ask(port, "shop.localhost.", "SRV").rr[0].rdata.target) == target(
        session, new, "10.0.0.8"
    )
    # The old runner still resolves: Caddy may dial it from a cached SRV answer until
    # the worker stops it (after proxy_table.settle_seconds).
    assert str(ask(port, runner_name("10.0.0.7"), "A").rr[0].rdata) == "10.0.0.7"


def test_an_unreadable_table_repeats_the_last_answers(
    port: int, session: Session, project: Project
) -> None:
    deployment = running(session, project)
    write_table(session, [HostEntry("shop.localhost", deployment, "10.0.0.7", 3000)])
    session.commit()
    assert ask(port, "shop.localhost.", "SRV").rr[0].rdata.port == 3000
    session.execute(text("ALTER TABLE proxy_routes RENAME TO proxy_routes_away"))
    session.commit()
    # The sites keep their URLs through the outage; a name never asked gets SERVFAIL.
    assert ask(port, "shop.localhost.", "SRV").rr[0].rdata.port == 3000
    assert str(ask(port, runner_name("10.0.0.7"), "A").rr[0].rdata) == "10.0.0.7"
    assert ask(port, "other.localhost.", "SRV").header.rcode == RCODE.SERVFAIL


def test_the_process_answers_until_stopped(
    tmp_path: Path, db_url: str, session: Session, project: Project
) -> None:
    deployment = running(session, project)
    write_table(session, [HostEntry("shop.localhost", deployment, "10.0.0.7", 3000)])
    session.commit()
    address = f"127.0.0.1:{free_port()}"
    resolver = start_resolver(
        database_url=db_url, address=address, not_found_port=NOT_FOUND_PORT, state_dir=tmp_path
    )
    try:
        port = int(address.rpartition(":")[2])
        assert ask(port, "shop.localhost.", "SRV").rr[0].rdata.port == 3000
        assert QTYPE[ask(port, runner_name("10.0.0.7"), "A").rr[0].rtype] == "A"
    finally:
        code = resolver.child.stop()
    assert code == 0  # SIGTERM ends it cleanly
    assert "answering route lookups on" in resolver.child.log_path.read_text()


def test_listen_needs_host_and_port() -> None:
    assert Listen.parse("0.0.0.0:5353") == Listen("0.0.0.0", 5353)
    for bad in ("5353", ":5353", "host:", "host:99999", "host:x"):
        with pytest.raises(ValueError, match="host:port"):
            Listen.parse(bad)


def test_the_health_check_asks_a_question_that_reads_the_table(port: int, session: Session) -> None:
    # A resolver that never read the table is not healthy yet (one that did repeats its
    # answers through an outage, and stays healthy: it still serves).
    session.execute(text("ALTER TABLE proxy_routes RENAME TO proxy_routes_away"))
    session.commit()
    assert check("127.0.0.1", port) == f"127.0.0.1:{port} answered SERVFAIL"
    session.execute(text("ALTER TABLE proxy_routes_away RENAME TO proxy_routes"))
    session.commit()
    assert check("0.0.0.0", port) is None  # bound to all: asked on loopback
    assert "no answer from" in (check("127.0.0.1", free_port(), timeout=0.5) or "")


def test_only_names_the_table_holds_are_remembered_and_only_so_many(
    monkeypatch: pytest.MonkeyPatch,
    sessions: sessionmaker[Session],
    session: Session,
    project: Project,
) -> None:
    # Anyone can ask for any name: the answers repeated through an outage must not grow
    # with the names asked, only with the routes, and never past MAX_REMEMBERED.
    monkeypatch.setattr(resolver_server, "MAX_REMEMBERED", 2)
    deployment = running(session, project)
    write_table(
        session,
        [HostEntry(f"{name}.localhost", deployment, "10.0.0.7", 3000) for name in ("a", "b", "c")],
    )
    session.commit()
    listen = Listen("127.0.0.1", free_port())
    server = serve(sessions, listen, not_found_port=NOT_FOUND_PORT)
    try:
        for name in ("nobody-1", "a", "nobody-2", "b", "c"):
            ask(listen.port, f"{name}.localhost.", "SRV")
        remembered = server.server.resolver._last
        assert [name for name, _ in remembered] == ["b.localhost.", "c.localhost."]
    finally:
        server.stop()


def test_a_host_with_replicas_gets_one_answer_per_replica(
    port: int, session: Session, project: Project
) -> None:
    deployment = running(session, project)
    write_table(session, [HostEntry("shop.localhost", deployment, "10.0.1.2 10.0.1.3", 3000)])
    session.commit()

    srv = ask(port, "shop.localhost.", "SRV")
    answers = sorted((str(record.rdata.target), record.rdata.port) for record in srv.rr)
    assert answers == [
        (target(session, deployment, "10.0.1.2"), 3000),
        (target(session, deployment, "10.0.1.3"), 3000),
    ]
