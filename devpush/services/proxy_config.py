"""Caddy's config and its admin API: the proxy in front of every deployment.

The config is the same whatever runs (:func:`build_config`): Caddy looks each host up
at the route resolver by DNS (``devpush.resolver``, the proxy table of
``devpush.services.proxy_table``), so host entries change without a config load, and a load (which
resets a few connections arriving during it) happens only when the config itself
changes: at the worker's start, or to a proxy that lost it. Errors of the admin API
become :class:`ProxyError`, in one place (:func:`load_config`).
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any, Final
from urllib.parse import urlparse

import httpx

from devpush.core.config import Settings
from devpush.core.errors import Unavailable
from devpush.services import proxy_table

#: The Caddy server's name in the config; one server holds every route.
SERVER: Final = "devpush"
#: The Host the client sends over a unix socket (Caddy checks it against ``origins``).
UNIX_SOCKET_HOST: Final = "devpush-proxy"
#: What Caddy answers for a name that no running deployment owns.
NOT_FOUND_BODY: Final = "No deployment answers at this address.\n"
#: Caddy's own loopback server with that 404: the resolvers send such a name there.
NOT_FOUND_SERVER: Final = "devpush-not-found"
NOT_FOUND_ADDRESS: Final = "127.0.0.1"
#: A Host header that is an IPv4 or IPv6 address (with or without a port).
IP_HOST: Final = r"^([0-9.]+|\[[0-9a-fA-F:.]+\])(:[0-9]+)?$"
#: Caddy's own loopback server that redirects a custom domain to its apex or www twin.
REDIRECT_SERVER: Final = "devpush-redirect"
#: https only: the HTTP server that redirects to HTTPS.
HTTP_SERVER: Final = "devpush-http"
#: What Caddy answers (503) when no resolver could say where a host runs.
LOOKUP_FAILED_BODY: Final = "devpush could not look up where this address runs; retrying.\n"
LOOKUP_RETRY_AFTER_SECONDS: Final = 1
#: How long Caddy keeps trying a request it could not connect anywhere, and how often.
#: Longer than two DNS questions lost with a resolver that died holding them: Caddy's
#: resolver (Go's) waits resolv.conf's ``timeout`` for each (5 s unless set; Compose
#: sets 1 s), and SRV lookups wait for one another meanwhile.
RETRY_SECONDS: Final = 12
RETRY_INTERVAL_MS: Final = 10
#: Swarm mode (a deployment's replicas are several upstreams): a replica whose host died
#: costs a request at most the dial timeout before it is retried on the next replica.
#: ``PASSIVE_FAIL_SECONDS`` is shorter than ``RETRY_SECONDS``: a lone runner skipped after
#: a failed dial is tried again within the same request.
SWARM_DIAL_TIMEOUT: Final = "1s"
PASSIVE_FAIL_SECONDS: Final = 5


#: The worker's probe server (``runner_address = "proxy"``): a unix socket beside the admin
#: socket, so only the worker reaches it; Caddy dials the address the header names and
#: marks its own failure to connect, so any answer of the app's own counts.
PROBE_SERVER: Final = "devpush-probe"
PROBE_SOCKET: Final = "probe.sock"
PROBE_HEADER: Final = "X-Devpush-Probe"
PROBE_FAILED_HEADER: Final = "X-Devpush-Probe-Failed"
PROBE_DIAL_TIMEOUT: Final = "1s"


#: Request logs (docs/logging.md): Caddy's access logger for the main server, and the
#: fields each entry gains beside Caddy's own: the upstream that served it (the resolver's
#: SRV target, which names the deployment: ``devpush.resolver.names.route_name``) and the
#: path as stored (the query string stripped unless ``request_log_query_string``). The
#: collectors read exactly these names.
ACCESS_LOGGER: Final = "devpush_requests"
UPSTREAM_FIELD: Final = "devpush_upstream"
PATH_FIELD: Final = "devpush_path"
#: Caddy rolls the file at this size and keeps this many old ones (``access-<time>.log``
#: beside it, which the collectors tail too): a backlog while the collector is down.
ACCESS_LOG_ROLL_MB: Final = 100
ACCESS_LOG_ROLL_KEEP: Final = 5


class ProxyError(Unavailable):
    """The proxy could not be configured; ``str()`` is fit to show an operator."""


def admin_listen(admin_url: str) -> str:
    """Caddy's ``admin.listen`` for the URL the client uses (``unix:///p`` → ``unix//p``)."""
    parsed = urlparse(admin_url)
    if parsed.scheme == "unix":
        return f"unix/{parsed.path}"
    if parsed.scheme != "http" or not parsed.netloc:
        raise ProxyError(
            f"the proxy admin URL must be http://host:port or unix:///path, not {admin_url!r}"
        )
    return parsed.netloc


def admin_host(admin_url: str) -> str:
    """The Host header the client sends, which Caddy's ``origins`` must allow."""
    parsed = urlparse(admin_url)
    return UNIX_SOCKET_HOST if parsed.scheme == "unix" else parsed.netloc


def server_config(settings: Settings) -> dict[str, Any]:
    """Where the server listens and how it does TLS: plain HTTP or automatic HTTPS (ACME)."""
    if settings.public_scheme == "https":
        # Caddy's automatic HTTPS: a certificate per host name by ACME. Its own HTTP
        # redirects would drop a port other than 443 for names it does not know (custom
        # domains): the HTTP server below (:func:`http_server`) redirects instead.
        # No route names a host, so TLS is switched on here (Caddy would serve plain
        # HTTP to a server whose routes name none).
        return {
            "listen": [f"{settings.proxy_bind}:{settings.public_port or 443}"],
            "tls_connection_policies": [{}],
            "automatic_https": {"disable_redirects": True},
        }
    return {
        "listen": [f"{settings.proxy_bind}:{settings.public_port or 80}"],
        "automatic_https": {"disable": True},
    }


def _not_found() -> dict[str, Any]:
    return {
        "handler": "static_response",
        "status_code": 404,
        "headers": {"Content-Type": ["text/plain; charset=utf-8"]},
        "body": NOT_FOUND_BODY,
    }


def _admin(settings: Settings) -> dict[str, Any]:
    # A loaded config must repeat the admin endpoint, or Caddy would move it.
    return {
        "listen": admin_listen(settings.proxy_admin_url),
        "origins": [admin_host(settings.proxy_admin_url)],
        "config": {"persist": settings.proxy_persist_config},
    }


def initial_config(settings: Settings) -> dict[str, Any]:
    """What Caddy starts with in Compose (``Docker/caddy/initial.json``) until the worker
    loads :func:`build_config`: the same admin endpoint and listener, and a 404."""
    server = {**server_config(settings), "routes": [{"handle": [_not_found()]}]}
    servers = {SERVER: server}
    if settings.public_scheme == "https":
        servers[HTTP_SERVER] = http_server(settings)
    return {"admin": _admin(settings), "apps": {"http": {"servers": servers}}}


def resolver_config(settings: Settings) -> dict[str, Any]:
    """Every route resolver, for the SRV lookups and the runners' names alike: Caddy asks
    one at random per try, so a lookup that meets a stopped one is tried again."""
    return {"addresses": [f"udp/{addr}" for addr in settings.proxy_resolver_addrs]}


def not_found_server(settings: Settings) -> dict[str, Any]:
    """Caddy's own loopback server that answers 404: where the resolvers send a name no
    deployment holds (``NOT_FOUND_ADDRESS``, ``proxy_not_found_port``)."""
    return {
        "listen": [f"{NOT_FOUND_ADDRESS}:{settings.proxy_not_found_port}"],
        "routes": [{"handle": [_not_found()]}],
        "automatic_https": {"disable": True},
    }


def _port_suffix(settings: Settings) -> str:
    """``:<port>`` in public URLs, unless it is the scheme's standard port."""
    standard = 443 if settings.public_scheme == "https" else 80
    port = settings.public_port or standard
    return "" if port == standard else f":{port}"


def _redirect(location: str) -> dict[str, Any]:
    return {
        "handler": "static_response",
        "status_code": 308,
        "headers": {"Location": [location]},
    }


def http_server(settings: Settings) -> dict[str, Any]:
    """https only: the HTTP server on ``proxy_http_port``, which sends every request to the
    same URL over HTTPS (ACME HTTP challenges are answered before any route)."""
    location = f"https://{{http.request.host}}{_port_suffix(settings)}{{http.request.uri}}"
    return {
        "listen": [f"{settings.proxy_bind}:{settings.proxy_http_port}"],
        "routes": [{"handle": [_redirect(location)]}],
    }


def redirect_server(settings: Settings) -> dict[str, Any]:
    """Caddy's own loopback server where a custom domain that redirects to its apex or www
    twin is routed (``proxy_table.REDIRECT_ADDRESS``, ``proxy_redirect_port``): ``www.x``
    goes to ``x``, any other name to ``www.`` and itself, path and query kept (308)."""
    scheme, port = settings.public_scheme, _port_suffix(settings)
    return {
        "listen": [f"{proxy_table.REDIRECT_ADDRESS}:{settings.proxy_redirect_port}"],
        "routes": [
            {
                "match": [
                    {
                        "header_regexp": {
                            "Host": {"name": "www", "pattern": r"^www\.([^:]+)(:[0-9]+)?$"}
                        }
                    }
                ],
                "handle": [
                    _redirect(f"{scheme}://{{http.regexp.www.1}}{port}{{http.request.uri}}")
                ],
                "terminal": True,
            },
            {
                "handle": [
                    _redirect(f"{scheme}://www.{{http.request.host}}{port}{{http.request.uri}}")
                ]
            },
        ],
        "automatic_https": {"disable": True},
    }


def probe_socket(settings: Settings) -> str | None:
    """The probe server's socket path (None: the worker reaches runners itself)."""
    parsed = urlparse(settings.proxy_admin_url)
    if settings.runner_address != "proxy" or parsed.scheme != "unix":
        return None
    return str(PurePosixPath(parsed.path).parent / PROBE_SOCKET)


def probe_server(socket_path: str) -> dict[str, Any]:
    """Caddy's server on the worker's probe socket: GET / of the header's ``ip:port``."""
    failed = {
        "handler": "static_response",
        "status_code": 502,
        "headers": {PROBE_FAILED_HEADER: ["1"]},
    }
    return {
        "listen": [f"unix/{socket_path}"],
        "routes": [
            {
                "handle": [
                    {
                        "handler": "reverse_proxy",
                        "upstreams": [{"dial": f"{{http.request.header.{PROBE_HEADER}}}"}],
                        "transport": {"protocol": "http", "dial_timeout": PROBE_DIAL_TIMEOUT},
                    }
                ]
            }
        ],
        "errors": {"routes": [{"handle": [failed]}]},
        "automatic_https": {"disable": True},
    }


def probe(settings: Settings, url: str, *, timeout: float = 2.0) -> bool:
    """Whether the runner at ``url`` answers, asked through the proxy's probe socket."""
    socket_path = probe_socket(settings)
    if socket_path is None:
        raise ProxyError("the proxy's probe socket needs a unix admin URL and runner_address proxy")
    target = httpx.URL(url)
    transport = httpx.HTTPTransport(uds=socket_path)
    try:
        with httpx.Client(transport=transport, timeout=timeout) as client:
            response = client.get(
                f"http://{PROBE_SERVER}/", headers={PROBE_HEADER: f"{target.host}:{target.port}"}
            )
    except httpx.HTTPError:
        return False
    return PROBE_FAILED_HEADER not in response.headers


def probe_route(
    settings: Settings, target: httpx.URL, path: str
) -> tuple[httpx.HTTPTransport, str, dict[str, str]]:
    """How to GET ``path`` of the runner at ``target`` through the probe socket: the
    transport, the URL and the headers (a health check's, devpush.services.health)."""
    socket_path = probe_socket(settings)
    if socket_path is None:
        raise ProxyError("the proxy's probe socket needs a unix admin URL and runner_address proxy")
    return (
        httpx.HTTPTransport(uds=socket_path),
        f"http://{PROBE_SERVER}{path}",
        {PROBE_HEADER: f"{target.host}:{target.port}"},
    )


def _lookup_failed() -> dict[str, Any]:
    return {
        "handler": "static_response",
        "status_code": 503,
        "headers": {
            "Content-Type": ["text/plain; charset=utf-8"],
            "Retry-After": [str(LOOKUP_RETRY_AFTER_SECONDS)],
        },
        "body": LOOKUP_FAILED_BODY,
    }


def access_log_fields(settings: Settings) -> dict[str, Any]:
    """A route whose handlers add the request log's own fields to each access log entry.

    ``log_append`` sets its field once the rest of the chain has answered, so the
    upstream placeholder holds the runner that served the request (empty: none did).
    """
    path = (
        "{http.request.orig_uri}"
        if settings.request_log_query_string
        else ("{http.request.orig_uri.path}")
    )
    return {
        "handle": [
            {
                "handler": "log_append",
                "key": UPSTREAM_FIELD,
                "value": "{http.reverse_proxy.upstream.host}",
            },
            {"handler": "log_append", "key": PATH_FIELD, "value": path},
        ]
    }


def access_logging(settings: Settings) -> dict[str, Any]:
    """Caddy's ``logging`` app: the main server's access log as JSON lines in
    ``proxy_access_log``, and nowhere else (Caddy's own log keeps its messages only)."""
    access = f"http.log.access.{ACCESS_LOGGER}"
    return {
        "logs": {
            "default": {"exclude": [access]},
            ACCESS_LOGGER: {
                "writer": {
                    "output": "file",
                    "filename": settings.proxy_access_log,
                    "roll_size_mb": ACCESS_LOG_ROLL_MB,
                    "roll_keep": ACCESS_LOG_ROLL_KEEP,
                    # Group-readable: the collector reads it as a member of Caddy's group.
                    "mode": "0640",
                },
                "encoder": {"format": "json"},
                "include": [access],
            },
        }
    }


def _spread_over_replicas(proxy: dict[str, Any]) -> None:
    """Swarm mode: a deployment's replicas are several SRV answers. A connection that
    fails (its host died) is given up after the dial timeout and retried within
    ``try_duration``; round robin makes the retry pick the next replica, where random
    could pick the dead one again. Passive health (skip a replica that failed for a
    while) is set too, but Caddy keeps no health for dynamic upstreams before it tracks
    them (caddyserver/caddy#7539): until then the round robin does the work. Not on one
    server: nothing changes there."""
    proxy["transport"]["dial_timeout"] = SWARM_DIAL_TIMEOUT
    proxy["load_balancing"]["selection_policy"] = {"policy": "round_robin"}
    proxy["health_checks"] = {
        "passive": {"fail_duration": f"{PASSIVE_FAIL_SECONDS}s", "max_fails": 1}
    }


def build_config(settings: Settings) -> dict[str, Any]:
    """Caddy's whole JSON config, the same whatever runs: the routes are looked up by DNS.

    A host under the domain is looked up as an SRV record at the resolvers, which name
    the runner and its port, or, for a name no deployment holds, Caddy's own 404 server
    (:func:`not_found_server`); the runner's name is looked up there too (an A record,
    at each new connection). So every lookup that fails is an outage, never a missing
    name: Caddy keeps its last answer (``grace_period``), retries a connection whose
    name did not resolve (``try_duration``), and a host it never got an answer for is the
    503 below. A runner that does not answer is a 502.
    """
    resolver = resolver_config(settings)
    refresh_ms = round(settings.proxy_route_refresh_seconds * 1000)
    proxy = {
        "handler": "reverse_proxy",
        "dynamic_upstreams": {
            "source": "srv",
            # The trailing dot: the name as it is, never tried with a search domain.
            "name": "{http.request.host}.",
            "refresh": f"{refresh_ms}ms",
            # A failed lookup keeps the last answer for one more refresh, then asks again:
            # no longer, so a route that moves meanwhile is followed as soon as one answers.
            "grace_period": f"{refresh_ms}ms",
            "resolver": resolver,
        },
        # The runner's name (the SRV target) is the resolvers' too.
        "transport": {"protocol": "http", "resolver": resolver},
        # A connection that could not be made (its name unresolved, a resolver stopped) or
        # a host with no answer yet is tried again, at another resolver, for a while.
        "load_balancing": {
            "try_duration": f"{RETRY_SECONDS}s",
            "try_interval": f"{RETRY_INTERVAL_MS}ms",
        },
        # The app sees the name the user asked for, and who asked.
        "headers": {"request": {"set": {"X-Forwarded-Host": ["{http.request.host}"]}}},
    }
    if settings.swarm:
        _spread_over_replicas(proxy)
    logged = bool(settings.proxy_access_log)
    server = {
        **server_config(settings),
        "routes": [
            *([access_log_fields(settings)] if logged else []),
            # An IP address in Host is no deployment's name: the 404, with no lookup.
            {
                "match": [{"header_regexp": {"Host": {"pattern": IP_HOST}}}],
                "handle": [_not_found()],
                "terminal": True,
            },
            # Every other host, the platform's names and custom domains alike: the
            # resolvers answer a name nobody serves with the 404 server, so none is listed.
            {"handle": [proxy], "terminal": True},
        ],
        "errors": {
            "routes": [
                {
                    # No upstream: no resolver answered for this host yet (an outage, not
                    # a missing name, which the 404 server answers).
                    "match": [{"expression": "{http.error.status_code} == 503"}],
                    "handle": [_lookup_failed()],
                }
            ]
        },
    }
    config: dict[str, Any] = {
        "admin": _admin(settings),
        "apps": {
            "http": {
                "servers": {
                    SERVER: server,
                    NOT_FOUND_SERVER: not_found_server(settings),
                    REDIRECT_SERVER: redirect_server(settings),
                }
            }
        },
    }
    if logged:
        server["logs"] = {"default_logger_name": ACCESS_LOGGER}
        config["logging"] = access_logging(settings)
    if (socket_path := probe_socket(settings)) is not None:
        config["apps"]["http"]["servers"][PROBE_SERVER] = probe_server(socket_path)
    if settings.public_scheme == "https":
        # The hosts are not in the config, so certificates come on demand: at a host's
        # first TLS handshake, once the app says a route has it (the permission endpoint).
        config["apps"]["http"]["servers"][HTTP_SERVER] = http_server(settings)
        config["apps"]["http"]["http_port"] = settings.proxy_http_port
        issuers: list[dict[str, Any]] = [acme_issuer(settings)]
        if settings.proxy_tls_issuer == "internal":
            issuers = [{"module": "internal"}]
            # The root stays in Caddy's data dir: installing it into the container's
            # trust store would need root, and helps no client.
            config["apps"]["pki"] = {"certificate_authorities": {"local": {"install_trust": False}}}
        config["apps"]["tls"] = {
            "automation": {
                "policies": [{"issuers": issuers, "on_demand": True}],
                "on_demand": {
                    "permission": {"module": "http", "endpoint": settings.proxy_tls_permission_url}
                },
            }
        }
    return config


def acme_issuer(settings: Settings) -> dict[str, Any]:
    """Caddy's ACME issuer: Let's Encrypt unless ``acme_ca_url`` names another CA."""
    issuer: dict[str, Any] = {"module": "acme"}
    if settings.acme_email:
        issuer["email"] = settings.acme_email
    if settings.acme_ca_url:
        issuer["ca"] = settings.acme_ca_url
    if settings.acme_ca_root:
        issuer["trusted_roots_pem_files"] = [settings.acme_ca_root]
    return issuer


# The client ------------------------------------------------------------------------


def _client(admin_url: str, timeout: float) -> httpx.Client:
    parsed = urlparse(admin_url)
    if parsed.scheme == "unix":
        transport = httpx.HTTPTransport(uds=parsed.path)
        return httpx.Client(
            transport=transport, base_url=f"http://{UNIX_SOCKET_HOST}", timeout=timeout
        )
    return httpx.Client(base_url=admin_url.rstrip("/"), timeout=timeout)


def _admin_call(
    settings: Settings, method: str, path: str, *, refused: str, **kwargs: Any
) -> httpx.Response:
    """One request to Caddy's admin API; not answering or not a 200 is a ``ProxyError``
    (``refused`` says what the proxy did not do)."""
    try:
        with _client(settings.proxy_admin_url, settings.proxy_timeout_seconds) as client:
            response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise ProxyError(
            f"the proxy's admin API at {settings.proxy_admin_url} did not answer: {exc}"
        ) from exc
    if response.status_code != 200:
        raise ProxyError(f"{refused} ({response.status_code}): {response.text[:500]}")
    return response


def load_config(config: dict[str, Any], settings: Settings) -> None:
    """POST ``config`` to Caddy's ``/load``: the new config is live when this returns."""
    _admin_call(
        settings,
        "POST",
        "/load",
        refused="the proxy refused the config",
        content=json.dumps(config).encode(),
        headers={"Content-Type": "application/json"},
    )


def running_config(settings: Settings) -> Any:
    """The config Caddy runs now (GET ``/config/``; null when it runs none)."""
    return _admin_call(
        settings, "GET", "/config/", refused="the proxy did not give its config"
    ).json()


def ensure_proxy_config(settings: Settings) -> bool:
    """Give Caddy its config (:func:`build_config`) only when it runs another (a proxy
    restarted without its saved config, or a new version's); whether it was sent."""
    wanted = build_config(settings)
    if running_config(settings) == wanted:
        return False
    load_config(wanted, settings)
    return True
