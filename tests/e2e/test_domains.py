"""Custom domains end to end: a DNS server on loopback, Pebble, the pinned Caddy over
HTTPS, the route resolvers, the web app (the API and Caddy's permission endpoint) and
the worker's domain check.

The users' DNS is a dnslib zone on loopback (tests/fixtures/dns_zone.py) that the
worker's check asks (``domain_dns_resolver``); the server's address is 127.0.0.1.
Pebble issues the certificates after validating the ACME challenge for real: it looks
the name up in the same zone (``-dnsserver``) and asks Caddy's HTTP or HTTPS port
(devpush_dev/pebble.py). Which names may get one is devpush's decision, through Caddy's
on-demand permission. The deployment's runner is an HTTP server
on loopback: only the worker's question to Docker, where a runner answers, is stood in for.
"""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.models import DeploymentStatus, ProxyTableRow
from devpush.services import proxy_config, proxy_table
from devpush.workers.queue import DeployQueue
from devpush.workers.tasks import domains as domain_tasks
from devpush.workers.tasks import proxy_writer
from devpush.workers.tasks.context import WorkerContext
from devpush_dev.caddy import Caddy, start_caddy
from devpush_dev.pebble import Pebble, start_pebble
from devpush_dev.ports import free_port
from devpush_dev.resolver_process import Resolver, start_resolver
from tests.fixtures.dns_zone import DnsZone
from tests.fixtures.web import SECRET_KEY, LiveServer, TwoTeams, move

BODY = b"hello from the shop\n"


class _App(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def runner_app() -> Iterator[int]:
    """The deployment's app: an HTTP server on loopback; its port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _App)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Ports:
    """Caddy's HTTPS and HTTP ports, where Pebble connects to validate challenges."""

    https: int
    http: int


@pytest.fixture
def caddy_ports() -> Ports:
    return Ports(https=free_port(), http=free_port())


@pytest.fixture
def pebble(tmp_path: Path, dns_zone: DnsZone, caddy_ports: Ports) -> Iterator[Pebble]:
    """Pebble validating challenges for real: the names looked up in the users' DNS,
    the challenges answered by Caddy on its ports."""
    started = start_pebble(
        state_dir=tmp_path / "pebble",
        dns_server=dns_zone.address,
        http_port=caddy_ports.http,
        tls_port=caddy_ports.https,
    )
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def settings(db_url: str, tmp_path: Path, log_store_url: str, dns_zone: DnsZone) -> Settings:
    """The app's and the worker's settings: the server at 127.0.0.1, the users' DNS on loopback."""
    return Settings(
        database_url=db_url,
        data_dir=tmp_path,
        queue_url=f"sqlite:///{tmp_path / 'queue.sqlite3'}",
        secret_key=SecretStr(SECRET_KEY),
        log_store="victorialogs",
        log_store_url=log_store_url,
        server_addresses="127.0.0.1",
        domain_dns_resolver=dns_zone.address,
    )


@dataclass
class Proxy:
    caddy: Caddy
    resolvers: list[Resolver]
    ctx: WorkerContext


@pytest.fixture
def proxy(
    settings: Settings,
    web_app: FastAPI,
    sessions: sessionmaker[Session],
    pebble: Pebble,
    tmp_path: Path,
    runner_app: int,
    caddy_ports: Ports,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Proxy]:
    """Caddy over HTTPS with certificates from Pebble, asking the app (served on loopback)
    whether a name may have one, and the two resolvers over the test's database."""
    with LiveServer(web_app) as app_url:
        proxy_settings = settings.model_copy(
            update={
                "public_scheme": "https",
                "public_port": caddy_ports.https,
                "proxy_http_port": caddy_ports.http,
                "proxy_redirect_port": free_port(),
                "proxy_not_found_port": free_port(),
                "proxy_admin_url": f"http://127.0.0.1:{free_port()}",
                "proxy_resolver_addr": f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}",
                "proxy_tls_permission_url": f"{app_url}/internal/proxy/tls-permission",
                "acme_ca_url": pebble.directory_url,
                "acme_ca_root": str(pebble.listener_root),
                "acme_email": "ops@example.org",
            }
        )
        resolvers: list[Resolver] = []
        caddy = None
        try:
            for n, address in enumerate(proxy_settings.proxy_resolver_addrs):
                resolvers.append(
                    start_resolver(
                        database_url=settings.database_url,
                        address=address,
                        not_found_port=proxy_settings.proxy_not_found_port,
                        state_dir=tmp_path / f"resolver-{n}",
                    )
                )
            caddy = start_caddy(settings=proxy_settings, state_dir=tmp_path / "caddy")
            # Where the runner answers: the one question to Docker, stood in for.
            monkeypatch.setattr(
                proxy_writer,
                "addresses_of",
                lambda ctx, running: {
                    item.deployment_id: ("127.0.0.1", runner_app) for item in running
                },
            )
            ctx = WorkerContext(settings=proxy_settings, sessions=sessions, docker=None)  # type: ignore[arg-type]
            yield Proxy(caddy, resolvers, ctx)
        finally:
            if caddy is not None:
                caddy.stop()
            for resolver in resolvers:
                resolver.stop()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def https_get(proxy: Proxy, host: str, path: str, *, root: str) -> Answer:
    """GET over TLS to Caddy's port with SNI and Host ``host``, the certificate checked
    against ``root`` (PEM) for that name."""
    context = ssl.create_default_context(cadata=root)
    with (
        socket.create_connection(
            ("127.0.0.1", proxy.caddy.settings.public_port), timeout=60
        ) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    return _parse(data)


def http_get(proxy: Proxy, host: str, path: str) -> Answer:
    port = proxy.caddy.settings.proxy_http_port
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    return _parse(data)


def _parse(data: bytes) -> Answer:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return Answer(status, headers, body)


def run_domain_jobs(queue: DeployQueue, proxy: Proxy) -> None:
    """What the worker does with the enqueued domain jobs (the check, the refresh)."""
    while (task := queue.huey.dequeue()) is not None:
        if task.eta is not None:  # a retry: it waits in the schedule, as the consumer does
            queue.huey.add_schedule(task)
        elif task.name == "devpush.domain_check":
            domain_tasks.run_domain_check(task.args[0], ctx=proxy.ctx, jobs=queue)
        elif task.name == "devpush.routes_refresh":
            domain_tasks.run_routes_refresh(ctx=proxy.ctx)


def test_a_verified_domain_gets_a_certificate_an_unverified_one_none_and_redirects_hold(
    proxy: Proxy,
    pebble: Pebble,
    dns_zone: DnsZone,
    two_teams: TwoTeams,
    sessions: sessionmaker[Session],
    client: TestClient,
    queue: DeployQueue,
) -> None:
    alice, bob = two_teams.alice, two_teams.bob
    # Alice's production runs: the rows say so, and the worker routes it.
    move(sessions, alice.deployment_id, DeploymentStatus.BUILDING, DeploymentStatus.RUNNING)
    queue.huey.flush()  # the deploy jobs two_teams enqueued: no worker runs them here
    as_alice = {"Authorization": f"Bearer {alice.token}"}
    dns_zone.records.update(
        {
            "shop.test": ["127.0.0.1"],
            "www.shop.test": ["127.0.0.1"],
            "elsewhere.test": ["192.0.2.9"],
        }
    )

    added = client.post(
        "/api/v1/projects/shop/domains", json={"name": "Shop.Test."}, headers=as_alice
    )
    assert added.status_code == 201, added.text
    body = added.json()
    assert (body["name"], body["environment"], body["status"]) == (
        "shop.test",
        "production",
        "pending",
    )
    assert body["dns_record"] == {"type": "A", "name": "shop.test", "value": "127.0.0.1"}
    www = client.post(
        "/api/v1/projects/shop/domains",
        json={"name": "www.shop.test", "environment": "production", "redirect_to": "shop.test"},
        headers=as_alice,
    )
    assert www.status_code == 201, www.text
    assert www.json()["dns_record"]["type"] == "CNAME"
    for name in ("elsewhere.test", "nowhere.test"):
        other = client.post("/api/v1/projects/shop/domains", json={"name": name}, headers=as_alice)
        assert other.status_code == 201, other.text

    # A second team cannot claim the name, however it writes it.
    for name in ("shop.test", "WWW.shop.test."):
        taken = client.post(
            "/api/v1/projects/shop/domains",
            json={"name": name},
            headers={"Authorization": f"Bearer {bob.token}"},
        )
        assert taken.status_code == 409, taken.text
        assert "already used by another project" in taken.json()["detail"]

    run_domain_jobs(queue, proxy)
    listed = {
        d["name"]: d for d in client.get("/api/v1/projects/shop/domains", headers=as_alice).json()
    }
    assert listed["shop.test"]["status"] == "active", listed["shop.test"]
    assert listed["www.shop.test"]["status"] == "active", listed["www.shop.test"]
    assert listed["elsewhere.test"]["status"] == "pending"
    assert "points at 192.0.2.9, not at this server" in listed["elsewhere.test"]["reason"]
    assert "checking again in 15 s" in listed["elsewhere.test"]["reason"]
    assert "does not exist in DNS" in listed["nowhere.test"]["reason"]
    # The retries wait in the queue's schedule.
    assert len(queue.huey.scheduled()) == 2

    root = pebble.issuing_root()
    # The verified name: a certificate from Pebble, valid for it, and the app behind it.
    served = https_get(proxy, "shop.test", "/", root=root)
    assert (served.status, served.body) == (200, BODY), served
    # Its www twin redirects to it, path and query kept, over its own certificate.
    moved = https_get(proxy, "www.shop.test", "/cart?item=1", root=root)
    port = proxy.caddy.settings.public_port
    assert (moved.status, moved.headers["location"]) == (
        308,
        f"https://shop.test:{port}/cart?item=1",
    )
    # Plain HTTP goes to HTTPS, for custom names and the platform's alike.
    platform = http_get(proxy, "shop.localhost", "/")
    assert (platform.status, platform.headers["location"]) == (
        308,
        f"https://shop.localhost:{port}/",
    )
    plain = http_get(proxy, "shop.test", "/a?b=c")
    assert (plain.status, plain.headers["location"]) == (308, f"https://shop.test:{port}/a?b=c")
    # What Caddy asked the app before each certificate: yes for the verified names only.
    for name, status in (("shop.test", 200), ("www.shop.test", 200), ("elsewhere.test", 404)):
        asked = client.get("/internal/proxy/tls-permission", params={"domain": name})
        assert asked.status_code == status, name
    # Names not verified get no certificate: the handshake is refused.
    for name in ("elsewhere.test", "nowhere.test", "unknown.test"):
        with pytest.raises(ssl.SSLError):
            https_get(proxy, name, "/", root=root)

    # Removing the twin that others redirect to is refused; the redirecting one goes.
    refused = client.delete("/api/v1/projects/shop/domains/shop.test", headers=as_alice)
    assert refused.status_code == 409, refused.text
    removed = client.delete("/api/v1/projects/shop/domains/www.shop.test", headers=as_alice)
    assert removed.status_code == 204, removed.text
    with sessions() as session:
        assert session.get(ProxyTableRow, "www.shop.test") is None
    run_domain_jobs(queue, proxy)
    # Caddy's cached answer is gone after the settle time: the name is not served.
    time.sleep(proxy_table.settle_seconds(proxy.ctx.settings))
    gone = https_get(proxy, "www.shop.test", "/", root=root)
    assert (gone.status, gone.body.decode()) == (404, proxy_config.NOT_FOUND_BODY)
    assert (
        client.get("/internal/proxy/tls-permission", params={"domain": "www.shop.test"}).status_code
        == 404
    )
    # And now the other team may have it.
    bobs = client.post(
        "/api/v1/projects/shop/domains",
        json={"name": "www.shop.test"},
        headers={"Authorization": f"Bearer {bob.token}"},
    )
    assert bobs.status_code == 201, bobs.text
