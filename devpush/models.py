"""The data model: users and teams, projects, environments, deployments.

Ids of projects, environments and deployments are opaque strings (UUID hex): they
become Docker labels on runner containers and Loki labels on their log lines.
Environment variables are stored encrypted (see ``devpush.core.crypto``); services
encrypt and decrypt them, the model only holds ciphertext.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import DeclarativeBase, Mapped, Relationship, mapped_column, relationship

# Deterministic constraint names, so Alembic migrations work on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


def _owned(back_populates: str) -> Relationship[Any]:
    """A parent's list of the children it owns: they go with it, and with their removal
    from the list."""
    return relationship(back_populates=back_populates, cascade="all, delete-orphan")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TeamRole(enum.StrEnum):
    OWNER = "owner"
    MEMBER = "member"


class EnvironmentKind(enum.StrEnum):
    PRODUCTION = "production"
    PREVIEW = "preview"


class DeploymentStatus(enum.StrEnum):
    QUEUED = "queued"
    BUILDING = "building"
    RUNNING = "running"
    FAILED = "failed"
    STOPPED = "stopped"
    SUPERSEDED = "superseded"

    @property
    def is_active(self) -> bool:
        """Still moving: the deployment can be canceled."""
        return self in (DeploymentStatus.QUEUED, DeploymentStatus.BUILDING)

    @property
    def is_final(self) -> bool:
        return self in (
            DeploymentStatus.FAILED,
            DeploymentStatus.STOPPED,
            DeploymentStatus.SUPERSEDED,
        )


class HealthStatus(enum.StrEnum):
    """What the running check last concluded about a running deployment."""

    UNKNOWN = "unknown"  # not checked since it became running (or checks are off)
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"  # failed its check ``failure_threshold`` times in a row


class DeployTrigger(enum.StrEnum):
    """What started a deployment: shown on its page and in the API."""

    MANUAL = "manual"  # the Deploy or Redeploy button, the API, the CLI
    WEBHOOK = "webhook"  # a forge's push
    POLL = "poll"  # the poller saw a new commit
    ROLLBACK = "rollback"  # an earlier deployment's build, started again


class DeliveryResult(enum.StrEnum):
    """What devpush did with a webhook delivery (or a poll that saw a new commit)."""

    DEPLOYED = "deployed"
    STOPPED = "stopped"  # a deleted branch: its environment's runners stop
    IGNORED = "ignored"  # valid, but nothing to do (a tag, a paused environment, a ping)
    REFUSED = "refused"  # bad signature, wrong repository, bad body: nothing queued


class NotificationKind(enum.StrEnum):
    WEBHOOK = "webhook"  # signed JSON POST
    SLACK = "slack"  # a Slack-compatible incoming webhook
    EMAIL = "email"  # SMTP


class DrainKind(enum.StrEnum):
    HTTPS = "https"  # NDJSON POST, signed with HMAC SHA-256
    SYSLOG = "syslog"  # RFC 5424 over TCP or TLS, octet-counted (RFC 6587)
    OTLP = "otlp"  # OTLP/HTTP JSON to <url>/v1/logs


class DomainStatus(enum.StrEnum):
    """Where a custom domain's DNS check stands; "active" (served now) is not stored: a
    verified domain the proxy table holds (``devpush.services.domains``)."""

    PENDING = "pending"
    VERIFIED = "verified"
    FAILED = "failed"


class DeployStep(enum.StrEnum):
    """The step a deployment failed in: the one list of step names.

    The runner script announces its steps by ``label`` (``==> Build: …``); the
    value is what the database and the JSON API hold.
    """

    CLONE = "clone"
    BUILD = "build"
    PRE_DEPLOY = "pre-deploy"
    START = "start"
    READY_CHECK = "ready-check"

    @property
    def label(self) -> str:
        return {"pre-deploy": "Pre-deploy", "ready-check": "Ready check"}.get(
            self.value, self.value.capitalize()
        )


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a deployment failed: the step, its exit code (if it exited), its last lines."""

    step: DeployStep
    exit_code: int | None
    lines: list[str]


def _enum(cls: type[enum.Enum]) -> Enum:
    # Stored as plain strings (no native ENUM type): adding a value needs no migration.
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


_TS = DateTime(timezone=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    # Admins add users to the server; the first user is one.
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    created_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)

    memberships: Mapped[list[TeamMember]] = _owned("user")
    tokens: Mapped[list[ApiToken]] = _owned("user")
    sessions: Mapped[list[UserSession]] = _owned("user")


class UserSession(Base):
    """A web sign-in: the signed cookie names it, and it is valid while this row exists.

    Only the SHA-256 of the cookie's random session key is stored. Logging out deletes
    the row; a password change or a removal from a team deletes all the user's rows.
    """

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)

    user: Mapped[User] = relationship(back_populates="sessions")


class LoginFailure(Base):
    """A failed password log-in, counted per account and per address for the rate limit."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(_TS, default=utcnow, index=True)


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)

    members: Mapped[list[TeamMember]] = _owned("team")
    projects: Mapped[list[Project]] = _owned("team")


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[str] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[TeamRole] = mapped_column(_enum(TeamRole), default=TeamRole.MEMBER)

    team: Mapped[Team] = relationship(back_populates="members")
    user: Mapped[User] = relationship(back_populates="memberships")


class ApiToken(Base):
    """A bearer token for the JSON API and the CLI; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, shown in the UI so a user can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(_TS)

    user: Mapped[User] = relationship(back_populates="tokens")


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("team_id", "slug"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(100))
    # ``<label>.<domain>`` and the environments' and deployments' hosts; unique across
    # teams (hosts.free_host_label), so two teams' "shop" never share a URL.
    host_label: Mapped[str] = mapped_column(String(63), unique=True)
    # https URL, or a local path/file:// URL for development.
    repo_url: Mapped[str] = mapped_column(String(2000))
    default_branch: Mapped[str] = mapped_column(String(255), default="main")
    runner_image: Mapped[str] = mapped_column(String(255))
    root_directory: Mapped[str] = mapped_column(String(255), default="")
    build_command: Mapped[str] = mapped_column(Text, default="")
    pre_deploy_command: Mapped[str] = mapped_column(Text, default="")
    start_command: Mapped[str] = mapped_column(Text)
    port: Mapped[int] = mapped_column(Integer, default=8000)
    env_vars_encrypted: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)

    # Private repositories (devpush.services.git_access). The SSH deploy key: an ed25519 pair
    # devpush makes; the public half is shown to paste into the forge, the private half is
    # encrypted like the variables. ``ssh_known_hosts`` pins the forge's host key
    # (known_hosts lines), on first use or as the user gave it.
    deploy_key_public: Mapped[str | None] = mapped_column(Text)
    deploy_key_private_encrypted: Mapped[str | None] = mapped_column(Text)
    ssh_known_hosts: Mapped[str] = mapped_column(Text, default="", server_default="")
    # An HTTPS access token (GitHub fine-grained, GitLab, Gitea), encrypted; the user name
    # git sends with it (forges differ: "x-access-token", "oauth2", the account's name).
    git_token_encrypted: Mapped[str | None] = mapped_column(Text)
    git_token_username: Mapped[str] = mapped_column(String(100), default="", server_default="")

    # The webhook's HMAC secret, encrypted (the HMAC needs it whole); None: no webhook.
    webhook_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    # A push to another branch than the default one deploys its preview environment.
    preview_deploys: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    # The poller (``git ls-remote`` every N seconds; None: off) and what it last saw.
    poll_interval_seconds: Mapped[int | None] = mapped_column(Integer)
    polled_at: Mapped[datetime | None] = mapped_column(_TS)
    polled_heads: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # The health check (docs/health-checks.md): a GET of this path must answer a status in
    # this range (devpush.services.health) before the switch, within the grace period
    # after the start step (None: the server's ready timeout); a running deployment is
    # checked every interval (None: not checked) and restarted after the threshold's
    # failures in a row. The defaults keep "any answer to /" as the only condition.
    health_path: Mapped[str] = mapped_column(String(255), default="/", server_default="/")
    health_expect_status: Mapped[str] = mapped_column(
        String(100), default="100-599", server_default="100-599"
    )
    health_grace_seconds: Mapped[int | None] = mapped_column(Integer)
    health_interval_seconds: Mapped[int | None] = mapped_column(Integer)
    health_failure_threshold: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    # The runner's limits; None: the server's defaults (Settings.runner_memory, runner_cpus).
    memory_mb: Mapped[int | None] = mapped_column(Integer)
    cpus: Mapped[float | None] = mapped_column(Float)
    # Swarm mode (docs/scaling.md): a node label ``key=value`` its runners are placed by
    # (``zone=eu``); empty: the swarm spreads them. Ignored on a single server.
    placement_label: Mapped[str] = mapped_column(String(255), default="", server_default="")
    # Dockerfile builds (docs/builds.md): the worker builds the repository's Dockerfile at
    # this path (below the root directory) with these build arguments, instead of running
    # the build command in the runner image.
    build_from_dockerfile: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sa_false()
    )
    dockerfile_path: Mapped[str] = mapped_column(
        String(255), default="Dockerfile", server_default="Dockerfile"
    )
    build_args: Mapped[dict[str, str] | None] = mapped_column(JSON)

    @property
    def health_check(self) -> dict[str, object]:
        """The health check's fields as the API and the CLI name them."""
        return {
            "path": self.health_path,
            "expect_status": self.health_expect_status,
            "grace_seconds": self.health_grace_seconds,
            "interval_seconds": self.health_interval_seconds,
            "failure_threshold": self.health_failure_threshold,
        }

    @property
    def dockerfile(self) -> dict[str, object]:
        """The Dockerfile build's fields as the API and the CLI name them."""
        return {
            "enabled": self.build_from_dockerfile,
            "path": self.dockerfile_path,
            "build_args": dict(self.build_args or {}),
        }

    team: Mapped[Team] = relationship(back_populates="projects")
    environments: Mapped[list[Environment]] = _owned("project")
    deployments: Mapped[list[Deployment]] = _owned("project")


class Environment(Base):
    """``production`` follows the project's default branch; a preview follows one other branch."""

    __tablename__ = "environments"
    __table_args__ = (
        UniqueConstraint("project_id", "branch"),
        UniqueConstraint("project_id", "name"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[EnvironmentKind] = mapped_column(_enum(EnvironmentKind))
    branch: Mapped[str] = mapped_column(String(255))
    env_vars_encrypted: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)
    # After a rollback, pushes no longer deploy here until a deploy or promote resumes
    # them (as Vercel does): the rolled-back version stays until someone chooses.
    auto_deploy_paused: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sa_false()
    )
    # Swarm mode: how many tasks each deployment runs (spread over hosts), from the next
    # deploy; a single server runs one.
    replicas: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    project: Mapped[Project] = relationship(back_populates="environments")
    deployments: Mapped[list[Deployment]] = relationship(back_populates="environment")


class Deployment(Base):
    __tablename__ = "deployments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    environment_id: Mapped[str] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), index=True
    )
    branch: Mapped[str] = mapped_column(String(255))
    # The exact commit to deploy (a push's, a chosen one); None: the branch's newest.
    requested_commit: Mapped[str | None] = mapped_column(String(64))
    # Known once the worker has fetched the branch.
    commit_sha: Mapped[str | None] = mapped_column(String(64))
    commit_message: Mapped[str | None] = mapped_column(Text)
    status: Mapped[DeploymentStatus] = mapped_column(
        _enum(DeploymentStatus), default=DeploymentStatus.QUEUED, index=True
    )
    created_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(_TS)
    ready_at: Mapped[datetime | None] = mapped_column(_TS)
    finished_at: Mapped[datetime | None] = mapped_column(_TS)
    container_id: Mapped[str | None] = mapped_column(String(64))
    container_name: Mapped[str | None] = mapped_column(String(255))
    # The host port the runner's app port is published on (127.0.0.1).
    host_port: Mapped[int | None] = mapped_column(Integer)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    # The failure record (with ``exit_code``): set by the worker from the runner's output
    # before the runner can be removed, so it outlives the container and the log store.
    failure_step: Mapped[DeployStep | None] = mapped_column(_enum(DeployStep))
    # The step's last output lines, cleaned and capped (see ``devpush.services.failure``).
    failure_lines: Mapped[list[str] | None] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    trigger: Mapped[DeployTrigger] = mapped_column(
        _enum(DeployTrigger),
        default=DeployTrigger.MANUAL,
        server_default=DeployTrigger.MANUAL.value,
    )
    # The image committed from the runner once it was ready: what it built, kept so a
    # rollback starts it again without a rebuild. None: not kept, or collected since.
    build_image: Mapped[str | None] = mapped_column(String(255))
    # A rollback's source: the deployment whose build it runs again.
    rollback_of_id: Mapped[str | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="SET NULL")
    )

    # The running check's view (devpush/workers/health_watch.py): its conclusion, when it
    # last asked, its last failure, the failures in a row, and the restarts it made (all,
    # and the times of the recent ones, ISO 8601, which bound the next).
    health_status: Mapped[HealthStatus] = mapped_column(
        _enum(HealthStatus), default=HealthStatus.UNKNOWN, server_default=HealthStatus.UNKNOWN.value
    )
    health_checked_at: Mapped[datetime | None] = mapped_column(_TS)
    health_error: Mapped[str | None] = mapped_column(Text)
    health_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    health_restarts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    health_restart_times: Mapped[list[str] | None] = mapped_column(JSON)

    project: Mapped[Project] = relationship(back_populates="deployments")
    environment: Mapped[Environment] = relationship(back_populates="deployments")

    @property
    def health(self) -> dict[str, object]:
        """The running check's view as the API shows it."""
        return {
            "status": self.health_status,
            "last_check_at": self.health_checked_at,
            "last_error": self.health_error,
            "restarts": self.health_restarts,
        }

    @property
    def failure(self) -> Failure | None:
        if self.failure_step is None:
            return None
        return Failure(
            step=self.failure_step, exit_code=self.exit_code, lines=list(self.failure_lines or [])
        )


class ProxyTableRow(Base):
    """One host name the proxy serves and the runner behind it: the proxy table.

    The worker writes it (``devpush.services.proxy_table``); the resolver answers the
    proxy's DNS lookups from it (``devpush.resolver``), so a URL moves without reloading
    the proxy's config.
    """

    __tablename__ = "proxy_routes"  # its name since the first migration; no rename needed

    host: Mapped[str] = mapped_column(String(253), primary_key=True)
    # No foreign key: a deleted deployment's routes must stay until the worker's refresh
    # has removed them and waited out the proxy's cache, before it stops the runner.
    deployment_id: Mapped[str] = mapped_column(String(32), index=True)
    # Where the proxy reaches the runner: its IP on the runner network, and its app port.
    # Swarm mode with replicas: every live task's IP, space-separated (one SRV answer each).
    address: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)


class Domain(Base):
    """A custom domain of an environment (``devpush.services.domains``, docs/domains.md).

    A name belongs to one environment across the server (unique). Once its DNS points at
    the server the worker marks it verified, and the proxy table routes it like the
    environment's own host (or to Caddy's redirect server, with ``redirect_to``).
    """

    __tablename__ = "domains"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(253), unique=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    environment_id: Mapped[str] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), index=True
    )
    # The apex or www twin this name redirects to (308); None: served itself.
    redirect_to: Mapped[str | None] = mapped_column(String(253))
    status: Mapped[DomainStatus] = mapped_column(_enum(DomainStatus), default=DomainStatus.PENDING)
    # What the last check found (why it is not verified yet, or "").
    reason: Mapped[str] = mapped_column(Text, default="")
    # Checks since the domain was added or last asked to check again (the back-off).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    checked_at: Mapped[datetime | None] = mapped_column(_TS)
    next_check_at: Mapped[datetime | None] = mapped_column(_TS)
    verified_at: Mapped[datetime | None] = mapped_column(_TS)
    created_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)

    environment: Mapped[Environment] = relationship()


class DeploymentMetric(Base):
    """One sample of a running deployment's runner, read from the Docker engine by the
    worker's sampler (``devpush.services.metrics_sampler``); deleted after
    ``metrics_retention_seconds``."""

    __tablename__ = "deployment_metrics"
    # A chart reads one deployment's range; the retention deletes by time alone.
    __table_args__ = (Index("ix_deployment_metrics_deployment_id_at", "deployment_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(_TS, index=True)
    # CPU cores in use since the previous sample; None for a runner's first sample when
    # the engine answers one reading only.
    cpu: Mapped[float | None] = mapped_column(Float)
    # Memory in use without the page cache (as ``docker stats`` counts it).
    memory_bytes: Mapped[int] = mapped_column(BigInteger)
    # Received and sent bytes since the runner started, over all its interfaces.
    rx_bytes: Mapped[int] = mapped_column(BigInteger)
    tx_bytes: Mapped[int] = mapped_column(BigInteger)


class WebhookDelivery(Base):
    """One call to a project's webhook (or one new commit the poller saw), and its result.

    Refused calls are recorded too, so a user can see why a push did not deploy; only
    accepted ones set ``dedupe_key`` (the forge's delivery id), whose uniqueness makes a
    repeated delivery a no-op and which a refused call can never take away from the real one.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("project_id", "dedupe_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    # The forge's delivery id (X-GitHub-Delivery, X-Gitlab-Event-UUID, ...), as sent.
    delivery: Mapped[str | None] = mapped_column(String(200))
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(_TS, default=utcnow, index=True)
    forge: Mapped[str] = mapped_column(String(20))
    event: Mapped[str] = mapped_column(String(50), default="")
    branch: Mapped[str | None] = mapped_column(String(255))
    commit: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[DeliveryResult] = mapped_column(_enum(DeliveryResult))
    reason: Mapped[str] = mapped_column(Text, default="")
    deployment_id: Mapped[str | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="SET NULL")
    )


class NotificationChannel(Base):
    """Where a project's deploy results are sent: a signed webhook, Slack, or an address."""

    __tablename__ = "notification_channels"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[NotificationKind] = mapped_column(_enum(NotificationKind))
    # A URL (webhook, slack) or an e-mail address.
    target: Mapped[str] = mapped_column(String(2000))
    # The signed webhook's HMAC secret, encrypted.
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    on_failure: Mapped[bool] = mapped_column(Boolean, default=True)
    on_success: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)


class NotificationAttempt(Base):
    """One try at sending one deployment's result to one channel."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[str] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), index=True
    )
    # No foreign key: the record of what was sent outlives a deleted deployment.
    deployment_id: Mapped[str] = mapped_column(String(32), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(_TS, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    # The receiver's HTTP status or SMTP reply code, and what went wrong.
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")


class LogDrain(Base):
    """Where a project's log lines are forwarded, which of them, and how far it has got.

    The worker reads the store from ``cursor`` (a ``LogCursor``) and moves it only past
    lines the receiver accepted: delivery is at least once (devpush/services/drains/).
    """

    __tablename__ = "log_drains"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[DrainKind] = mapped_column(_enum(DrainKind))
    # https://… (https, otlp) or syslog://host:port, syslog+tls://host:port.
    url: Mapped[str] = mapped_column(String(2000))
    # The HMAC secret (https) and any extra request headers (an API key), encrypted.
    secrets_encrypted: Mapped[str] = mapped_column(Text, default="")
    # Filters: an environment kind (None: all), the sources, the lowest level (None: all).
    environment: Mapped[EnvironmentKind | None] = mapped_column(_enum(EnvironmentKind))
    sources: Mapped[list[str]] = mapped_column(JSON)
    min_level: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)
    # Delivery state: where the next batch starts, and what users see on the status page.
    cursor: Mapped[str | None] = mapped_column(Text)
    delivered_lines: Mapped[int] = mapped_column(Integer, default=0)
    skipped_lines: Mapped[int] = mapped_column(Integer, default=0)
    lines_behind: Mapped[int | None] = mapped_column(Integer)
    last_delivery_at: Mapped[datetime | None] = mapped_column(_TS)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[datetime | None] = mapped_column(_TS)
