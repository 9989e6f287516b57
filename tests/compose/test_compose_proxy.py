"""The proxy service of docker-compose.yml: Caddy serving the deployment URLs."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

import pytest

from devpush.services.proxy_config import SERVER, build_config, initial_config
from tests.compose.conftest import LoadCompose
from tests.compose.files import INITIAL, PROD, binds, compose_settings, versions


@pytest.fixture(scope="module")
def prod(load_compose: LoadCompose) -> dict[str, Any]:
    return load_compose(PROD)


def test_official_image_pinned_in_versions_env(prod: dict[str, Any]) -> None:
    proxy = prod["services"]["proxy"]
    assert proxy["image"] == f"caddy:{versions()['CADDY_VERSION']}"
    assert proxy["command"] == ["caddy", "run", "--config", "/etc/caddy/initial.json", "--resume"]
    assert proxy["restart"] == "unless-stopped"


def test_published_ports_and_state(prod: dict[str, Any]) -> None:
    proxy = prod["services"]["proxy"]
    published = {(p["target"], p.get("protocol", "tcp")): p["published"] for p in proxy["ports"]}
    assert published == {(80, "tcp"): "80", (443, "tcp"): "443", (443, "udp"): "443"}
    assert binds(proxy) == {
        "/etc/caddy/initial.json": ("./Docker/caddy/initial.json", True),
        "/data": ("/srv/devpush/caddy/data", False),
        "/config": ("/srv/devpush/caddy/config", False),
        "/run/devpush-proxy": ("/srv/devpush/caddy/admin", False),
        "/var/log/devpush-proxy": ("/srv/devpush/caddy/logs", False),
    }
    # The app's uid (Docker/Dockerfile.app), so the worker may use the admin socket.
    assert proxy["user"] == "10001:10001"


def test_admin_socket_only_for_the_worker(prod: dict[str, Any]) -> None:
    services = prod["services"]
    sharing = {
        name
        for name, service in services.items()
        if any(v["source"] == "/srv/devpush/caddy/admin" for v in service.get("volumes", []))
    }
    assert sharing == {"proxy", "worker"}
    # No admin port on any network: the worker connects the proxy to every project's
    # runner network.
    assert set(services["proxy"]["networks"]) == {"default", "resolver"}
    assert "expose" not in services["proxy"]
    worker = compose_settings(services["worker"])
    assert worker.proxy_admin_url == "unix:///run/devpush-proxy/admin.sock"
    assert worker.runner_address == "proxy"
    assert "/data" in binds(services["worker"])


def test_initial_config_has_the_admin_and_listener_of_the_workers_config(
    prod: dict[str, Any],
) -> None:
    # Same admin endpoint and server as the worker's config: a load never moves them.
    worker = compose_settings(prod["services"]["worker"])
    assert json.loads(INITIAL.read_text()) == initial_config(worker)
    assert (worker.public_scheme, worker.proxy_persist_config) == ("https", True)


def test_the_proxy_asks_two_resolvers_on_their_own_network(prod: dict[str, Any]) -> None:
    services = prod["services"]
    # Two alike, each with a health check: Caddy asks either, so one may stop.
    for name in ("resolver", "resolver-2"):
        resolver = services[name]
        assert resolver["command"] == [
            "python",
            "-m",
            "devpush.resolver",
            "--listen",
            "0.0.0.0:5353",
        ]
        assert resolver["image"] == services["app"]["image"]
        assert resolver["restart"] == "unless-stopped"
        # The database (internal) and the proxy (resolver) only: runners cannot ask it.
        assert set(resolver["networks"]) == {"internal", "resolver"}
        assert "ports" not in resolver
        assert resolver["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert resolver["healthcheck"]["test"] == [
            "CMD",
            "python",
            "-m",
            "devpush.resolver.health",
            "127.0.0.1:5353",
        ]
        assert services["proxy"]["depends_on"][name]["condition"] == "service_healthy"
    assert {n for n, s in services.items() if "resolver" in s["networks"]} == {
        "proxy",
        "resolver",
        "resolver-2",
    }
    # A question lost with a stopped resolver holds Caddy's lookups 1 s, not Go's 5 s.
    assert services["proxy"]["dns_opt"] == ["timeout:1", "attempts:3"]
    worker = compose_settings(services["worker"])
    assert worker.proxy_resolver_addrs == ["resolver:5353", "resolver-2:5353"]
    config = build_config(worker)
    # The route with the reverse proxy (the one before it adds the request log's fields).
    routes = config["apps"]["http"]["servers"][SERVER]["routes"]
    proxy = next(h for r in routes for h in r["handle"] if h["handler"] == "reverse_proxy")
    assert proxy["dynamic_upstreams"]["resolver"] == {
        "addresses": ["udp/resolver:5353", "udp/resolver-2:5353"]
    }


def test_on_demand_tls_asks_the_app(prod: dict[str, Any]) -> None:
    from devpush import routes
    from devpush.api import proxy

    worker = compose_settings(prod["services"]["worker"])
    url = urlparse(worker.proxy_tls_permission_url)
    # The app's service name and container port, on a network the proxy shares with it.
    assert (url.hostname, url.port) == ("app", 8000)
    assert "--port 8000" in " ".join(prod["services"]["app"]["command"])
    shared = set(prod["services"]["app"]["networks"]) & set(prod["services"]["proxy"]["networks"])
    assert shared
    assert proxy in routes.INTERNAL
    assert url.path in {route.path for route in proxy.router.routes}  # type: ignore[attr-defined]
    permission = build_config(worker)["apps"]["tls"]["automation"]["on_demand"]["permission"]
    assert permission == {"module": "http", "endpoint": worker.proxy_tls_permission_url}


def test_links_use_https_without_a_port(prod: dict[str, Any]) -> None:
    from devpush.services.hosts import public_url

    app = compose_settings(prod["services"]["app"])
    assert public_url("shop.example.com", app) == "https://shop.example.com/"
