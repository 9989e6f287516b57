"""Caddy's config, built from settings (tests/compose/test_caddy_config.py validates it
with Caddy; tests/e2e/test_routing.py runs it)."""

from __future__ import annotations

import json

import pytest

from devpush.core.config import Settings
from devpush.services import proxy_config
from devpush.services.proxy_config import (
    HTTP_SERVER,
    LOOKUP_FAILED_BODY,
    NOT_FOUND_BODY,
    NOT_FOUND_SERVER,
    REDIRECT_SERVER,
    SERVER,
    ProxyError,
    admin_listen,
    build_config,
    initial_config,
)


def test_local_config_is_plain_http_on_one_loopback_port_and_asks_the_resolver() -> None:
    settings = Settings(
        proxy_admin_url="http://127.0.0.1:2999",
        public_port=8081,
        proxy_resolver_addr="127.0.0.1:5399, 127.0.0.1:5400",
        proxy_route_refresh_seconds=0.5,
        proxy_not_found_port=8499,
    )
    config = build_config(settings)
    assert config["admin"] == {
        "listen": "127.0.0.1:2999",
        "origins": ["127.0.0.1:2999"],
        "config": {"persist": False},
    }
    server = config["apps"]["http"]["servers"][SERVER]
    assert server["listen"] == ["127.0.0.1:8081"]
    assert server["automatic_https"] == {"disable": True}
    ip_host, first = server["routes"]
    assert ip_host["handle"][0]["status_code"] == 404
    # Every other host: the platform's names and custom domains (the resolvers know them all).
    assert "match" not in first
    proxy = first["handle"][0]
    assert proxy["handler"] == "reverse_proxy"
    assert "upstreams" not in proxy
    # Both resolvers, for the SRV lookups and the runners' names alike.
    both = {"addresses": ["udp/127.0.0.1:5399", "udp/127.0.0.1:5400"]}
    assert proxy["dynamic_upstreams"] == {
        "source": "srv",
        "name": "{http.request.host}.",
        "refresh": "500ms",
        # A failed lookup keeps the last answer one more refresh, then asks again.
        "grace_period": "500ms",
        "resolver": both,
    }
    assert proxy["transport"]["resolver"] == both
    # A connection that could not be made (a name not resolved) is tried again.
    assert proxy["load_balancing"] == {"try_duration": "12s", "try_interval": "10ms"}
    assert first["terminal"] is True
    # A host no deployment holds: the resolvers send it to Caddy's own 404 server.
    not_found = config["apps"]["http"]["servers"][NOT_FOUND_SERVER]
    assert not_found["listen"] == ["127.0.0.1:8499"]
    (fallback,) = not_found["routes"]
    assert fallback["handle"][0]["status_code"] == 404
    assert fallback["handle"][0]["body"] == NOT_FOUND_BODY
    # No upstream (503) means no resolver answered: its own page, not the 404.
    (unknown,) = server["errors"]["routes"]
    assert unknown["match"] == [{"expression": "{http.error.status_code} == 503"}]
    (lookup_failed,) = unknown["handle"]
    assert lookup_failed["status_code"] == 503
    assert lookup_failed["body"] == LOOKUP_FAILED_BODY != NOT_FOUND_BODY
    assert lookup_failed["headers"]["Retry-After"] == ["1"]
    assert "tls" not in config["apps"]


def test_one_resolver_address_is_a_list_of_one() -> None:
    assert Settings(proxy_resolver_addr="resolver:5353").proxy_resolver_addrs == ["resolver:5353"]
    config = build_config(Settings(proxy_resolver_addr="resolver:5353"))
    proxy = config["apps"]["http"]["servers"][SERVER]["routes"][-1]["handle"][0]
    assert proxy["dynamic_upstreams"]["resolver"] == {"addresses": ["udp/resolver:5353"]}


def test_the_config_is_the_same_whatever_runs() -> None:
    # The point of the resolver: routes never reload Caddy (a reload drops connections).
    assert build_config(Settings()) == build_config(Settings())
    assert "10.0.0." not in json.dumps(build_config(Settings()))


def test_compose_config_is_https_by_acme_on_demand_with_the_admin_on_a_socket() -> None:
    settings = Settings(
        proxy_admin_url="unix:///run/devpush-proxy/admin.sock",
        public_scheme="https",
        public_port=None,
        proxy_bind="",
        proxy_persist_config=True,
        acme_email="ops@example.com",
        domain="apps.example.com",
        proxy_tls_permission_url="http://app:8000/internal/proxy/tls-permission",
    )
    config = build_config(settings)
    assert config["admin"]["listen"] == "unix//run/devpush-proxy/admin.sock"
    assert config["admin"]["origins"] == ["devpush-proxy"]
    assert config["admin"]["config"] == {"persist": True}
    server = config["apps"]["http"]["servers"][SERVER]
    assert server["listen"] == [":443"]
    assert "match" not in server["routes"][-1]
    # Caddy's automatic HTTPS (ACME); its HTTP server redirects to https, whatever the name.
    assert server["automatic_https"] == {"disable_redirects": True}
    assert server["tls_connection_policies"] == [{}]  # no route names a host
    http = config["apps"]["http"]["servers"][HTTP_SERVER]
    assert http["listen"] == [":80"]
    (redirect,) = http["routes"]
    assert redirect["handle"][0]["status_code"] == 308
    assert redirect["handle"][0]["headers"]["Location"] == [
        "https://{http.request.host}{http.request.uri}"
    ]
    automation = config["apps"]["tls"]["automation"]
    (policy,) = automation["policies"]
    assert policy["issuers"] == [{"module": "acme", "email": "ops@example.com"}]
    # Hosts are not in the config: a certificate at a host's first handshake, if the app
    # says a route has it.
    assert policy["on_demand"] is True
    assert automation["on_demand"] == {
        "permission": {
            "module": "http",
            "endpoint": "http://app:8000/internal/proxy/tls-permission",
        }
    }


def test_internal_issuer_signs_with_caddys_own_ca_without_installing_its_root() -> None:
    settings = Settings(public_scheme="https", proxy_tls_issuer="internal")
    config = build_config(settings)
    (policy,) = config["apps"]["tls"]["automation"]["policies"]
    assert policy["issuers"] == [{"module": "internal"}]
    assert policy["on_demand"] is True
    assert config["apps"]["pki"] == {"certificate_authorities": {"local": {"install_trust": False}}}
    assert "pki" not in build_config(Settings(public_scheme="https"))["apps"]


def test_the_initial_config_has_the_same_admin_and_server_and_answers_404() -> None:
    settings = Settings(proxy_admin_url="http://127.0.0.1:2999", public_port=8081)
    initial, full = initial_config(settings), build_config(settings)
    assert initial["admin"] == full["admin"]
    server = initial["apps"]["http"]["servers"][SERVER]
    assert server["listen"] == full["apps"]["http"]["servers"][SERVER]["listen"]
    (route,) = server["routes"]
    assert route["handle"][0]["status_code"] == 404


@pytest.mark.parametrize("url", ["ftp://x", "127.0.0.1:2019", "http://"])
def test_admin_url_must_be_http_or_unix(url: str) -> None:
    with pytest.raises(ProxyError):
        admin_listen(url)


@pytest.mark.parametrize("addr", ["", " , "])
def test_at_least_one_resolver_is_needed(addr: str) -> None:
    with pytest.raises(ValueError, match="at least one host:port"):
        Settings(proxy_resolver_addr=addr)


def test_request_logs_go_to_one_json_file_with_the_upstream_and_the_path() -> None:
    settings = Settings(proxy_access_log="/var/log/devpush-proxy/access.log")
    config = proxy_config.build_config(settings)
    server = config["apps"]["http"]["servers"][proxy_config.SERVER]
    assert server["logs"] == {"default_logger_name": proxy_config.ACCESS_LOGGER}
    # The fields are added around every route (the first one, not terminal).
    first = server["routes"][0]
    assert "match" not in first and not first.get("terminal")
    appended = {h["key"]: h["value"] for h in first["handle"] if h["handler"] == "log_append"}
    assert appended == {
        proxy_config.UPSTREAM_FIELD: "{http.reverse_proxy.upstream.host}",
        proxy_config.PATH_FIELD: "{http.request.orig_uri.path}",  # no query string
    }
    logs = config["logging"]["logs"]
    access = f"http.log.access.{proxy_config.ACCESS_LOGGER}"
    assert logs["default"] == {"exclude": [access]}  # Caddy's own log keeps its messages
    assert logs[proxy_config.ACCESS_LOGGER]["include"] == [access]
    assert logs[proxy_config.ACCESS_LOGGER]["writer"]["filename"] == settings.proxy_access_log
    assert logs[proxy_config.ACCESS_LOGGER]["encoder"] == {"format": "json"}
    # The other servers (404, probe) log nothing: their requests are the main server's.
    for name, other in config["apps"]["http"]["servers"].items():
        assert name == proxy_config.SERVER or "logs" not in other

    kept = proxy_config.build_config(settings.model_copy(update={"request_log_query_string": True}))
    handlers = kept["apps"]["http"]["servers"][proxy_config.SERVER]["routes"][0]["handle"]
    assert {h["key"]: h["value"] for h in handlers}[proxy_config.PATH_FIELD] == (
        "{http.request.orig_uri}"
    )


def test_no_access_log_file_means_no_request_logging() -> None:
    config = proxy_config.build_config(Settings(proxy_access_log=""))
    assert "logging" not in config
    server = config["apps"]["http"]["servers"][proxy_config.SERVER]
    assert "logs" not in server
    assert all(h["handler"] != "log_append" for r in server["routes"] for h in r["handle"])


def test_acme_issuer_takes_another_ca_and_its_roots() -> None:
    settings = Settings(
        public_scheme="https",
        acme_ca_url="https://127.0.0.1:14000/dir",
        acme_ca_root="/etc/devpush/ca.pem",
    )
    (policy,) = build_config(settings)["apps"]["tls"]["automation"]["policies"]
    assert policy["issuers"] == [
        {
            "module": "acme",
            "ca": "https://127.0.0.1:14000/dir",
            "trusted_roots_pem_files": ["/etc/devpush/ca.pem"],
        }
    ]


def test_https_on_another_port_redirects_with_that_port() -> None:
    settings = Settings(public_scheme="https", public_port=8443, proxy_http_port=8088)
    config = build_config(settings)
    assert config["apps"]["http"]["http_port"] == 8088
    http = config["apps"]["http"]["servers"][HTTP_SERVER]
    assert http["listen"] == ["127.0.0.1:8088"]
    location = http["routes"][0]["handle"][0]["headers"]["Location"]
    assert location == ["https://{http.request.host}:8443{http.request.uri}"]
    assert HTTP_SERVER not in build_config(Settings())["apps"]["http"]["servers"]


def test_the_redirect_server_sends_www_to_the_apex_and_the_apex_to_www() -> None:
    settings = Settings(public_scheme="https", public_port=None, proxy_redirect_port=8777)
    server = build_config(settings)["apps"]["http"]["servers"][REDIRECT_SERVER]
    assert server["listen"] == ["127.0.0.1:8777"]
    from_www, to_www = server["routes"]
    assert from_www["match"][0]["header_regexp"]["Host"]["pattern"] == r"^www\.([^:]+)(:[0-9]+)?$"
    assert from_www["handle"][0]["headers"]["Location"] == [
        "https://{http.regexp.www.1}{http.request.uri}"
    ]
    assert to_www["handle"][0]["headers"]["Location"] == [
        "https://www.{http.request.host}{http.request.uri}"
    ]
