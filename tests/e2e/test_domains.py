"""Custom domains end to end: a DNS server on loopback, Pebble, the pinned Caddy over
HTTPS with its two route resolvers, the web app (the API and Caddy's permission
endpoint), a real worker process and a real runner of the example app.

The users' DNS is a dnslib zone on loopback (tests/fixtures/dns_zone.py) that the
worker's domain check asks (``domain_dns_resolver``); the server's address is 127.0.0.1.
Pebble issues the certificates after validating the ACME challenge for real: it looks
the name up in the same zone (``-dnsserver``) and asks Caddy's HTTP or HTTPS port
(devpush_dev/pebble.py). Which names may get one is devpush's decision, through Caddy's
on-demand permission. The project is tests/e2e/conftest.py's stack: its worker
process deploys the example into a runner container and runs the domain jobs the API
enqueues on the stack's queue. This module's Caddy (HTTPS) replaces the e2e tests'
plain HTTP one (the ``caddy`` fixture), so the stack and its worker point at it.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from devpush.core.config import Settings
from devpush.core.crypto import fernet_for
from devpush.main import create_app
from devpush.models import ProxyTableRow
from devpush.services import proxy_config, proxy_table
from devpush.services.projects import create_project
from devpush.services.teams import create_team
from devpush.services.tokens import create_token
from devpush.services.users import create_user
from devpush_dev import processes
from devpush_dev.caddy import Caddy, start_caddy
from devpush_dev.pebble import Pebble, start_pebble
from devpush_dev.ports import free_port
from tests.e2e.support import Stack, first_running, hello
from tests.fixtures.dns_zone import DnsZone
from tests.fixtures.web import PASSWORD, LiveServer, project_input

pytestmark = pytest.mark.docker


@dataclass
class Ports:
    """Caddy's HTTPS and HTTP ports, where Pebble connects to validate challenges, and
    the web app's, which Caddy asks for its on-demand permission."""

    https: int
    http: int
    app: int


@pytest.fixture
def ports() -> Ports:
    return Ports(https=free_port(), http=free_port(), app=free_port())


@pytest.fixture
def pebble(tmp_path: Path, dns_zone: DnsZone, ports: Ports) -> Iterator[Pebble]:
    """Pebble validating challenges for real: the names looked up in the users' DNS,
    the challenges answered by Caddy on its ports."""
    started = start_pebble(
        state_dir=tmp_path / "pebble",
        dns_server=dns_zone.address,
        http_port=ports.http,
        tls_port=ports.https,
    )
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def caddy(tmp_path: Path, pebble: Pebble, ports: Ports) -> Iterator[Caddy]:
    """This module's Caddy, over HTTPS with certificates from Pebble, asking the web app
    (served on ``ports.app`` by the test) whether a name may have one. ``make_stack``
    starts its two resolvers on the stack's database and points the stack at it."""
    settings = Settings(
        public_scheme="https",
        public_port=ports.https,
        proxy_http_port=ports.http,
        proxy_admin_url=f"http://127.0.0.1:{free_port()}",
        proxy_resolver_addr=f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}",
        proxy_not_found_port=free_port(),
        proxy_redirect_port=free_port(),
        proxy_tls_permission_url=f"http://127.0.0.1:{ports.app}/internal/proxy/tls-permission",
        acme_ca_url=pebble.directory_url,
        acme_ca_root=str(pebble.listener_root),
        acme_email="ops@example.org",
    )
    started = start_caddy(settings=settings, state_dir=tmp_path / "caddy-https")
    try:
        yield started
    finally:
        started.stop()


def other_team_owner(stack: Stack, email: str) -> str:
    """An owner of another team with a project of its own: an API token."""
    with stack.sessions() as session:
        user = create_user(session, email=email, password=PASSWORD)
        team = create_team(session, name="Team B", owner=user)
        fernet = fernet_for(stack.settings.secret_key.get_secret_value())
        create_project(session, team=team, data=project_input("Shop"), fernet=fernet)
        _, token = create_token(session, user=user, name="e2e")
        session.commit()
    return token


def wait_for_domains(
    api: httpx.Client,
    headers: dict[str, str],
    done: Callable[[dict[str, dict[str, Any]]], bool],
    child: processes.Child,
    *,
    timeout: float = 60,
) -> dict[str, dict[str, Any]]:
    """The project's domains by name, once ``done`` says the worker's checks ran."""
    deadline = time.monotonic() + timeout
    while True:
        listed = api.get("/api/v1/projects/hello/domains", headers=headers)
        assert listed.status_code == 200, listed.text
        domains = {d["name"]: d for d in listed.json()}
        if done(domains):
            return domains
        assert time.monotonic() < deadline, (domains, child.log_tail())
        time.sleep(0.3)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def https_get(caddy: Caddy, host: str, path: str, *, root: str) -> Answer:
    """GET over TLS to Caddy's port with SNI and Host ``host``, the certificate checked
    against ``root`` (PEM) for that name."""
    context = ssl.create_default_context(cadata=root)
    with (
        socket.create_connection(("127.0.0.1", caddy.settings.public_port), timeout=60) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    return _parse(data)


def http_get(caddy: Caddy, host: str, path: str) -> Answer:
    port = caddy.settings.proxy_http_port
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


def test_a_verified_domain_gets_a_certificate_an_unverified_one_none_and_redirects_hold(
    make_stack: Callable[..., Stack],
    sqlite_url: str,
    worker: Callable[..., processes.Child],
    caddy: Caddy,
    pebble: Pebble,
    dns_zone: DnsZone,
    ports: Ports,
) -> None:
    stack = make_stack(
        sqlite_url, server_addresses="127.0.0.1", domain_dns_resolver=dns_zone.address
    )
    as_alice = {"Authorization": f"Bearer {stack.add_owner('alice@example.org')}"}
    as_bob = {"Authorization": f"Bearer {other_team_owner(stack, 'bob@example.org')}"}
    # Alice's production runs: the worker process deployed it into a runner.
    child, queue, first = first_running(stack, worker)
    first_hello = hello(first)
    dns_zone.records.update(
        {
            "shop.test": ["127.0.0.1"],
            "www.shop.test": ["127.0.0.1"],
            "elsewhere.test": ["192.0.2.9"],
        }
    )

    # The app enqueues the checks on the stack's queue, which the worker process consumes.
    with (
        LiveServer(create_app(stack.settings), port=ports.app) as app_url,
        httpx.Client(base_url=app_url, timeout=30) as api,
    ):
        added = api.post(
            "/api/v1/projects/hello/domains", json={"name": "Shop.Test."}, headers=as_alice
        )
        assert added.status_code == 201, added.text
        body = added.json()
        assert (body["name"], body["environment"], body["status"]) == (
            "shop.test",
            "production",
            "pending",
        )
        assert body["dns_record"] == {"type": "A", "name": "shop.test", "value": "127.0.0.1"}
        www = api.post(
            "/api/v1/projects/hello/domains",
            json={"name": "www.shop.test", "environment": "production", "redirect_to": "shop.test"},
            headers=as_alice,
        )
        assert www.status_code == 201, www.text
        assert www.json()["dns_record"]["type"] == "CNAME"
        for name in ("elsewhere.test", "nowhere.test"):
            other = api.post(
                "/api/v1/projects/hello/domains", json={"name": name}, headers=as_alice
            )
            assert other.status_code == 201, other.text

        # A second team cannot claim the name, however it writes it.
        for name in ("shop.test", "WWW.shop.test."):
            taken = api.post("/api/v1/projects/shop/domains", json={"name": name}, headers=as_bob)
            assert taken.status_code == 409, taken.text
            assert "already used by another project" in taken.json()["detail"]

        # The worker process checks each name (its domain job) and routes the verified ones.
        listed = wait_for_domains(
            api,
            as_alice,
            lambda found: (
                found["shop.test"]["status"] == "active"
                and found["www.shop.test"]["status"] == "active"
                and "checking again" in (found["elsewhere.test"]["reason"] or "")
                and "checking again" in (found["nowhere.test"]["reason"] or "")
            ),
            child,
        )
        assert listed["elsewhere.test"]["status"] == "pending"
        assert "points at 192.0.2.9, not at this server" in listed["elsewhere.test"]["reason"]
        assert "checking again in 15 s" in listed["elsewhere.test"]["reason"]
        assert "does not exist in DNS" in listed["nowhere.test"]["reason"]
        # Their retries wait in the queue's schedule, which the worker process reads.
        assert len(queue.huey.scheduled()) == 2

        root = pebble.issuing_root()
        # The verified name: a certificate from Pebble, valid for it, and the runner behind it.
        served = https_get(caddy, "shop.test", "/", root=root)
        assert (served.status, served.body.decode()) == (200, first_hello), served
        # Its www twin redirects to it, path and query kept, over its own certificate.
        moved = https_get(caddy, "www.shop.test", "/cart?item=1", root=root)
        port = caddy.settings.public_port
        assert (moved.status, moved.headers["location"]) == (
            308,
            f"https://shop.test:{port}/cart?item=1",
        )
        # Plain HTTP goes to HTTPS, for custom names and the platform's alike.
        platform = http_get(caddy, "hello.localhost", "/")
        assert (platform.status, platform.headers["location"]) == (
            308,
            f"https://hello.localhost:{port}/",
        )
        plain = http_get(caddy, "shop.test", "/a?b=c")
        assert (plain.status, plain.headers["location"]) == (
            308,
            f"https://shop.test:{port}/a?b=c",
        )
        # What Caddy asked the app before each certificate: yes for the verified names only.
        for name, status in (("shop.test", 200), ("www.shop.test", 200), ("elsewhere.test", 404)):
            asked = api.get("/internal/proxy/tls-permission", params={"domain": name})
            assert asked.status_code == status, name
        # Names not verified get no certificate: the handshake is refused.
        for name in ("elsewhere.test", "nowhere.test", "unknown.test"):
            with pytest.raises(ssl.SSLError):
                https_get(caddy, name, "/", root=root)

        # Removing the twin that others redirect to is refused; the redirecting one goes.
        refused = api.delete("/api/v1/projects/hello/domains/shop.test", headers=as_alice)
        assert refused.status_code == 409, refused.text
        removed = api.delete("/api/v1/projects/hello/domains/www.shop.test", headers=as_alice)
        assert removed.status_code == 204, removed.text
        with stack.sessions() as session:
            assert session.get(ProxyTableRow, "www.shop.test") is None
        # Caddy's cached answer is gone after the settle time: the name is not served.
        time.sleep(proxy_table.settle_seconds(stack.settings))
        gone = https_get(caddy, "www.shop.test", "/", root=root)
        assert (gone.status, gone.body.decode()) == (404, proxy_config.NOT_FOUND_BODY)
        permission = api.get("/internal/proxy/tls-permission", params={"domain": "www.shop.test"})
        assert permission.status_code == 404
        # And now the other team may have it.
        bobs = api.post(
            "/api/v1/projects/shop/domains", json={"name": "www.shop.test"}, headers=as_bob
        )
        assert bobs.status_code == 201, bobs.text
        # The worker ran every job without dying (the checks, the routes' refreshes).
        assert child.running(), child.log_tail()
