"""All settings, read once from the environment (prefix ``DEVPUSH_``) or ``.env``."""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Network
from pathlib import Path
from typing import Final, Literal, Self, get_args

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Placeholder secrets that are fine for development and refused anywhere else.
_DEV_SECRET = "dev-only-secret-change-me"  # noqa: S105 - refused outside development


#: The log-store backends ``log_store`` may name.
LogStoreName = Literal["victorialogs", "loki"]
LOG_STORES: Final[tuple[str, ...]] = get_args(LogStoreName)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEVPUSH_", env_file=".env", extra="ignore")

    environment: str = "development"
    data_dir: Path = Path("data")
    database_url: str = "sqlite:///data/devpush.sqlite3"
    # Signs sessions and CSRF tokens, and keys the encryption of environment variables.
    secret_key: SecretStr = SecretStr(_DEV_SECRET)
    # huey's storage: a SQLite file locally, Redis in the Compose stack.
    queue_url: str = "sqlite:///data/queue.sqlite3"

    # Docker: the socket proxy in production, the local engine in development.
    docker_host: str = "unix:///var/run/docker.sock"
    # Swarm mode (docs/scaling.md): docker_host is a swarm manager's engine, and the hosts
    # are its nodes. Off: one engine, exactly as before.
    swarm: bool = False
    # Swarm mode: ``host:port`` of the worker's source server, which a runner task fetches
    # its deployment's source from when it starts (any host may run it, and a service takes
    # no upload). The worker binds it; every host must reach it (the manager's private
    # address, the worker on the host's network). Port 0: a free one.
    swarm_source_address: str = ""
    # Swarm mode: how often the worker's host watch asks the manager for down hosts, whose
    # running deployments it moves to other hosts (docs/scaling.md, "A host that dies").
    host_watch_interval_seconds: float = Field(default=2.0, gt=0)
    # Swarm mode: ``host:port`` of the registry devpush runs (docker-stack.registry.yml),
    # which every host pulls from. The worker pushes each Dockerfile build there, so its
    # task and a later rollback run on any host; empty: Dockerfile builds and rollbacks
    # are refused in swarm mode (docs/builds.md).
    swarm_registry: str = ""
    # Each project's runners get their own bridge, ``<runner_network>-<project id>``
    # (docs/network.md); runners deployed before that stay on this shared one until redeployed.
    runner_network: str = "devpush_runner"
    # Docker's default pools hold ~30 bridges: project networks take subnets of this
    # length from this pool instead (/16 in /26s: 1024 projects, 61 addresses each).
    runner_subnet_pool: IPv4Network = IPv4Network("10.201.0.0/16")
    runner_subnet_prefix: int = Field(default=26, ge=8, le=29)
    # A runner's memory (Docker's notation: 512m, 1g) and CPUs, unless its project sets its
    # own; a project may ask for at most the maximums (docs/health-checks.md).
    runner_memory: str = "512m"
    runner_cpus: float = 1.0
    runner_max_memory_mb: int = Field(default=4096, gt=0)
    runner_max_cpus: float = Field(default=4.0, gt=0)
    # json-file rotation for runner logs: bounds disk use; the collector follows rotations.
    runner_log_max_size: str = "10m"
    runner_log_max_file: int = 5
    # How the worker checks that a runner answers (runners publish no port): its IP on
    # the runner network (a worker on the host: local run, tests; Linux routes to it), its
    # name there (a worker container on that network), or ``proxy``: through the proxy's
    # probe socket beside its admin socket (the Compose stack: the worker is on no runner
    # network, the proxy's container is on every one). The proxy always gets the IP, from
    # the route resolver.
    runner_address: Literal["container_ip", "container_name", "proxy"] = "container_ip"
    # The deploy worker: build + start must answer on the port within this time.
    runner_ready_timeout_seconds: float = Field(default=600.0, gt=0)
    # A running deployment whose health check keeps failing is restarted, at most this many
    # times in this window (a restart loop is bounded; past it, it stays unhealthy and says so).
    health_max_restarts: int = Field(default=3, ge=0)
    health_restart_window_seconds: int = Field(default=600, gt=0)
    # Seconds Docker waits after SIGTERM before SIGKILL when a runner is stopped.
    runner_stop_timeout_seconds: int = Field(default=10, ge=0)
    # Stopped runner containers are kept this long (the collector ships their last lines).
    runner_cleanup_after_seconds: int = Field(default=86400, ge=0)
    # Worker threads of the deploy queue consumer (a deploy mostly waits on Docker).
    worker_threads: int = Field(default=4, ge=1)

    # Deployment URLs (docs/routing.md): ``<short-id>-<project>.<domain>`` per deployment,
    # ``<project>.<domain>`` and ``<env>-<project>.<domain>`` per environment. Browsers
    # resolve ``*.localhost`` to loopback, so the local run needs no DNS.
    domain: str = "localhost"
    # Links use this scheme and port (a default port is left out). With https, Caddy
    # obtains certificates by ACME for each name (the domain's DNS must point at it).
    public_scheme: Literal["http", "https"] = "http"
    public_port: int | None = Field(default=8080, gt=0, lt=65536)
    # The address the proxy's server binds: loopback in the local run, all in a container.
    proxy_bind: str = "127.0.0.1"
    # The proxy's container (Compose), which the worker connects to each project's runner
    # network; empty: the proxy runs on the host, which reaches every bridge.
    proxy_container: str = ""
    # Caddy's admin API: http://host:port or unix:///path (the Compose stack: a socket on
    # a volume only the worker shares, so runners cannot reconfigure the proxy).
    proxy_admin_url: str = "http://127.0.0.1:2019"
    proxy_timeout_seconds: float = Field(default=10.0, gt=0)
    # Caddy saves the loaded config and resumes it after a restart (the Compose stack).
    proxy_persist_config: bool = False
    # The route resolvers (python -m devpush.resolver): Caddy asks them by DNS (UDP) where
    # each host's runner is, so routes change without reloading Caddy. A comma-separated
    # list (read it through ``proxy_resolver_addrs``): Caddy asks any of them, so one may
    # stop. A resolver binds the first unless told otherwise (in Compose each binds all and
    # the proxy asks resolver:5353,resolver-2:5353).
    proxy_resolver_addr: str = "127.0.0.1:5353"
    # The loopback port of Caddy's own "no deployment" server: the resolvers send a name no
    # deployment holds there (a real answer, so Caddy's grace period never keeps a stale
    # runner for it). Both Caddy and the resolvers read it; only Caddy binds it.
    proxy_not_found_port: int = Field(default=8404, gt=0, lt=65536)
    # How long Caddy keeps an answer; after a route change the worker waits this long
    # (and a margin) before an old runner stops or a row says the new one runs.
    proxy_route_refresh_seconds: float = Field(default=1.0, gt=0, le=60)
    # https only: Caddy asks here whether a host may get a certificate (on-demand TLS).
    proxy_tls_permission_url: str = "http://127.0.0.1:8000/internal/proxy/tls-permission"
    # The account ACME certificates are requested for (optional; https only).
    acme_email: str | None = None
    # Who signs the certificates (https only): "acme" (Let's Encrypt or another ACME CA),
    # or "internal", Caddy's own CA, for a server no ACME CA can reach (a private network:
    # clients trust the root in Caddy's data dir, pki/authorities/local/root.crt).
    proxy_tls_issuer: Literal["acme", "internal"] = "acme"
    # Another ACME CA than Let's Encrypt (its directory URL; empty: Caddy's default), and a
    # PEM file of the roots its directory's HTTPS certificate chains to (a private CA's).
    acme_ca_url: str = ""
    acme_ca_root: str = ""
    # https only: where Caddy's HTTP server listens (HTTP → HTTPS redirects, ACME HTTP
    # challenges); the standard port unless the server cannot bind it.
    proxy_http_port: int = Field(default=80, gt=0, lt=65536)
    # The loopback port of Caddy's own redirect server: a custom domain that redirects to
    # its apex or www twin is routed there (docs/domains.md). Caddy and the worker read it.
    proxy_redirect_port: int = Field(default=8405, gt=0, lt=65536)

    # Custom domains (docs/domains.md, devpush.services.domains). The server's public
    # addresses (IPv4 and IPv6, comma separated): a domain verifies when its A/AAAA records
    # name one of them, or its CNAME names its environment's host. Empty: only a CNAME can.
    server_addresses: str = ""
    # The DNS server the worker asks when it verifies a domain (host:port, UDP); empty:
    # the first nameserver of /etc/resolv.conf.
    domain_dns_resolver: str = ""
    # Request logs (docs/logging.md): the file Caddy writes its JSON access log to, as
    # Caddy sees it; the collector tails the same file (a volume in Compose). Empty: no
    # access log (a proxy whose requests nobody collects).
    proxy_access_log: str = ""
    # A request entry's path keeps the query string (off: tokens and personal data in
    # query strings stay out of the logs).
    request_log_query_string: bool = False

    # Git (devpush.services.git, devpush.services.git_access). Outside development a project's
    # repository may be a local path only below one of these directories (":"-separated,
    # like PATH); empty: no local paths. In development any local path is allowed.
    local_repo_roots: str = ""
    # The web app's own address as the forges reach it (webhook URLs); unset: the address
    # of the request that asks (right behind a proxy that sets the Host header).
    app_url: str | None = None
    # Webhook calls: a larger body is refused (413); the deliveries kept per project.
    webhook_max_body_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    webhook_deliveries_kept: int = Field(default=500, gt=0)
    # The poller (for servers a forge cannot reach): the shortest interval a project may set.
    poll_min_interval_seconds: int = Field(default=60, gt=0)
    # Instant rollback: the builds kept per environment (images committed from runners);
    # older ones are removed.
    rollback_builds_kept: int = Field(default=5, ge=1)

    # Runtime metrics (docs/metrics.md): the worker reads every running runner's CPU, memory
    # and network from the engine this often, and keeps the samples this long (the longest
    # range the views offer is 24 h).
    metrics_interval_seconds: float = Field(default=15.0, gt=0)
    metrics_retention_seconds: int = Field(default=86400, gt=0)

    # Deploy notifications (devpush.services.notifications): tries per message and the first
    # pause between them (doubled each time); e-mail goes through this SMTP server.
    notification_max_attempts: int = Field(default=5, ge=1)
    notification_retry_seconds: float = Field(default=5.0, ge=0)
    notification_timeout_seconds: float = Field(default=10.0, gt=0)
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, gt=0, lt=65536)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "devpush@localhost"
    # "starttls" (port 587), "tls" (implicit, port 465) or "none" (a relay on loopback).
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"

    # Web sign-in: the signed session cookie's lifetime (https-only outside development).
    session_max_age_seconds: int = Field(default=14 * 86400, gt=0)
    # Failed log-ins (web form and API token exchange) allowed in the window, per account
    # and per client address; more are refused (429) until the window has moved on. The
    # count lives in the database, so several app processes share it.
    login_max_failures_per_account: int = Field(default=5, gt=0)
    login_max_failures_per_address: int = Field(default=20, gt=0)
    login_failure_window_seconds: int = Field(default=900, gt=0)

    # The log store the views, the API and the CLI read: VictoriaLogs is the embedded
    # default (local run, tests); the Compose stack sets Loki. See docs/logging.md.
    log_store: LogStoreName = "victorialogs"
    # Where it answers; unset: the backend's default (LOG_STORE_BACKENDS in
    # devpush/services/log_store.py).
    log_store_url: str | None = None
    log_store_timeout_seconds: float = Field(default=10.0, gt=0)
    # The most entries one store request asks for (Loki's max_entries_limit_per_query
    # default); a page or a download asks for more in several requests.
    log_store_max_entries_per_query: int = Field(default=5000, gt=0)
    # A download pages its range in windows of about this many lines (by the store's
    # counts), so that no store request reads far past its page (devpush/services/log_download.py).
    log_download_window_lines: int = Field(default=50_000, gt=0)

    # Log views: lines longer than this are cut for display (the full line stays stored).
    log_line_max_chars: int = Field(default=10_000, gt=0)
    # The one limit on search text, for the views, the API and the CLI.
    log_search_max_chars: int = Field(default=512, gt=0)
    # The live tail polls the store: lines show as soon as the store answers for them,
    # and its resumable position trails by the delay, the longest a line may take from a
    # runner to being searchable (collector poll and batch, the store's own ~1 s, a
    # collector restart), so a late line is delivered, not skipped (devpush/logs/store.py).
    # 0.1 s (was 0.25): the viewers of a deployment share one tail, which reads only new
    # lines each poll (docs/performance.md, "A faster live view": latency and CPU).
    log_tail_poll_seconds: float = Field(default=0.1, gt=0)
    log_tail_delay_seconds: float = Field(default=3.0, ge=0)
    # VictoriaLogs makes a line searchable about 1 s after it arrives; a live tail asks it
    # to do so at once (/internal/force_flush, at most every this many seconds per app
    # process, whatever the number of open tails). 0 turns it off.
    log_tail_flush_seconds: float = Field(default=0.1, ge=0)
    # The app's read-only Docker door (tcp://host:port or unix:///path): a live tail of one
    # running deployment also follows its runners' Docker logs, which show a line at once
    # where the store takes 0.2-3 s (devpush/services/tail_hub.py; docs/performance.md, "A
    # faster live view"). Empty: the store alone. Loki keeps the store path.
    log_follow_docker_host: str = ""
    # The log collector's own metrics (Prometheus text, e.g. http://127.0.0.1:8888/metrics):
    # the log views warn when its queue is full, as lines may then be lost to rotation
    # (devpush/services/collector.py). None: not known, no warning.
    log_collector_metrics_url: str | None = None
    # Development only: the local run's supervisord (unix:///path/supervisor.sock or
    # http://127.0.0.1:PORT), whose log says which part restarted lately; the log views
    # show it (devpush/services/supervisor.py). None (production): not asked.
    local_supervisor_url: str | None = None

    @property
    def local_repo_dirs(self) -> list[Path]:
        """``local_repo_roots`` as absolute, resolved directories."""
        return [Path(p).resolve() for p in self.local_repo_roots.split(":") if p.strip()]

    @property
    def proxy_resolver_addrs(self) -> list[str]:
        """Every route resolver's ``host:port``, from ``proxy_resolver_addr``."""
        return [addr.strip() for addr in self.proxy_resolver_addr.split(",") if addr.strip()]

    @property
    def server_address_list(self) -> list[str]:
        """Every public address of the server, from ``server_addresses``."""
        return [addr.strip() for addr in self.server_addresses.split(",") if addr.strip()]

    @model_validator(mode="after")
    def _need_a_resolver(self) -> Self:
        if not self.proxy_resolver_addrs:
            raise ValueError("DEVPUSH_PROXY_RESOLVER_ADDR must name at least one host:port")
        return self

    @model_validator(mode="after")
    def _subnets_fit_the_pool(self) -> Self:
        if self.runner_subnet_prefix < self.runner_subnet_pool.prefixlen:
            raise ValueError(
                f"DEVPUSH_RUNNER_SUBNET_PREFIX /{self.runner_subnet_prefix} is wider than"
                f" DEVPUSH_RUNNER_SUBNET_POOL {self.runner_subnet_pool}"
            )
        return self

    @model_validator(mode="after")
    def _refuse_dev_secret_outside_development(self) -> Self:
        if self.environment != "development" and self.secret_key.get_secret_value() == _DEV_SECRET:
            raise ValueError("DEVPUSH_SECRET_KEY must be set outside development")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
