"""Response and request bodies of the JSON API."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from devpush.core.config import Settings
from devpush.core.limits import (
    BRANCH_CHARS,
    EMAIL_CHARS,
    ENV_TEXT_CHARS,
    PASSWORD_CHARS,
    TOKEN_NAME_CHARS,
    USER_NAME_CHARS,
)
from devpush.models import (
    DeliveryResult,
    Deployment,
    DeploymentStatus,
    DeployStep,
    DeployTrigger,
    EnvironmentKind,
    HealthStatus,
    TeamRole,
)
from devpush.services import hosts
from devpush.services.projects import ProjectCreate
from devpush.services.rollback import can_rollback

ModelT = TypeVar("ModelT", bound=BaseModel)


def read_fields(model: type[ModelT], *sources: object, **given: object) -> ModelT:
    """``model`` with the ``given`` values, each other field read from the first of
    ``sources`` with an attribute of its name: pydantic's ``from_attributes`` for an answer
    whose fields come from more than one object."""
    values = dict(given)
    for name in model.model_fields.keys() - given.keys():
        source = next((source for source in sources if hasattr(source, name)), None)
        if source is not None:
            values[name] = getattr(source, name)
    return model.model_validate(values, from_attributes=True)


class ApiBody(BaseModel):
    """A request body: a field the API does not know is refused (422), never dropped."""

    model_config = ConfigDict(extra="forbid")


class TokenRequest(ApiBody):
    email: str = Field(max_length=EMAIL_CHARS)
    password: str = Field(max_length=PASSWORD_CHARS)
    name: str = Field(default="devpush CLI", min_length=1, max_length=TOKEN_NAME_CHARS)


class PasswordChange(ApiBody):
    current_password: str = Field(max_length=PASSWORD_CHARS)
    new_password: str = Field(min_length=8, max_length=PASSWORD_CHARS)


class TokenCreated(BaseModel):
    id: int
    name: str
    prefix: str
    #: Shown once: only its hash is stored.
    token: str


class TokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class TeamPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    slug: str


class MemberPublic(BaseModel):
    user_id: int
    email: str
    name: str
    role: TeamRole


class MemberIn(ApiBody):
    #: An existing user's e-mail (an admin adds new users: POST /api/v1/users).
    email: str = Field(max_length=EMAIL_CHARS)
    role: TeamRole = TeamRole.MEMBER


class RoleIn(ApiBody):
    role: TeamRole


class UserCreateIn(ApiBody):
    email: str = Field(max_length=EMAIL_CHARS)
    password: str = Field(min_length=8, max_length=PASSWORD_CHARS)
    name: str = Field(default="", max_length=USER_NAME_CHARS)
    #: A team (id or slug) of the admin's to add the user to; left out: a team of their own.
    team: str | None = None
    role: TeamRole = TeamRole.MEMBER
    admin: bool = False


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    is_admin: bool = False
    teams: list[TeamPublic] = []


class EnvironmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: EnvironmentKind
    branch: str
    #: True after a rollback: pushes do not deploy here until a manual deploy or a resume.
    auto_deploy_paused: bool = False
    #: Runners per deployment (swarm mode: spread over hosts), from the next deployment.
    replicas: int = 1


class EnvironmentUpdate(ApiBody):
    #: 1-10; above 1 needs swarm mode (409 on a single server).
    replicas: int


class HealthCheckPublic(BaseModel):
    path: str
    #: Codes or ranges, like ``200-399``; ``100-599``: any answer.
    expect_status: str
    #: Seconds after the start step for the first pass; null: the server's ready timeout.
    grace_seconds: int | None
    #: Seconds between checks of a running deployment; null: it is not checked.
    interval_seconds: int | None
    failure_threshold: int


class DockerfilePublic(BaseModel):
    """Whether the project builds from a Dockerfile (docs/builds.md), where, with what."""

    enabled: bool
    path: str
    build_args: dict[str, str]


class HealthPublic(BaseModel):
    """A running deployment's health, as its last checks saw it."""

    status: HealthStatus
    last_check_at: datetime | None
    last_error: str | None
    #: Restarts after failed checks.
    restarts: int


class ProjectPublic(BaseModel):
    """A project without its environment variables (they are secrets)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    team_id: str
    name: str
    slug: str
    #: The project's name in its URLs (``<host_label>.<domain>``), unique across teams.
    host_label: str
    repo_url: str
    default_branch: str
    runner_image: str
    root_directory: str
    build_command: str
    pre_deploy_command: str
    start_command: str
    port: int
    created_at: datetime
    #: The check before the switch and of a running deployment (docs/health-checks.md).
    health_check: HealthCheckPublic | None = None
    #: The runner's memory (MB) and CPUs; null: the server's defaults.
    memory_mb: int | None = None
    cpus: float | None = None
    #: Swarm mode: the node label that places the runners (``zone=eu``); "": spread.
    placement_label: str = ""
    #: The Dockerfile build (docs/builds.md).
    dockerfile: DockerfilePublic | None = None


class ProjectDetail(ProjectPublic):
    environments: list[EnvironmentPublic]
    env_var_names: list[str]


class VariablesIn(ApiBody):
    """Variables to add or replace; the scope's other variables stay."""

    #: Names and values.
    values: dict[str, str] = Field(default_factory=dict)
    #: ``.env`` text (quotes, ``export``, multi-line values), read before ``values``.
    text: str = Field(default="", max_length=ENV_TEXT_CHARS)


class VariablesPublic(BaseModel):
    #: Variable names per scope: ``shared`` (every environment), then each environment.
    scopes: dict[str, list[str]]


class ProjectCreateIn(ProjectCreate):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    #: The team's slug or id; may be left out when the user belongs to one team only.
    team: str | None = None
    #: A private https repository's access token (stored encrypted, never shown) and the
    #: user name sent with it (left out: the forge's usual one).
    git_token: SecretStr | None = Field(default=None, max_length=4096)
    git_token_username: str = Field(default="", max_length=100)


class FailurePublic(BaseModel):
    """Why a deployment failed: the step, its exit code, the last lines it printed.

    The lines are the runner's output as it was (cleaned and capped, HTML and ANSI kept):
    a client must escape them before showing them as markup.
    """

    model_config = ConfigDict(from_attributes=True)

    step: DeployStep
    exit_code: int | None
    lines: list[str]


class DeploymentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    project_id: str
    environment_id: str
    branch: str
    commit_sha: str | None
    commit_message: str | None
    status: DeploymentStatus
    created_at: datetime
    started_at: datetime | None
    ready_at: datetime | None
    finished_at: datetime | None
    host_port: int | None
    exit_code: int | None
    error: str | None
    #: Set when a step failed (the clone or a runner step); null otherwise.
    failure: FailurePublic | None
    #: The deployment's own URL and its environment's, while it runs; null otherwise.
    url: str | None = None
    environment_url: str | None = None
    #: What started it: manual, webhook, poll or rollback.
    trigger: DeployTrigger = DeployTrigger.MANUAL
    #: The exact commit asked for; null: the branch's newest.
    requested_commit: str | None = None
    #: A rollback's source: the deployment whose kept build it runs again.
    rollback_of_id: str | None = None
    #: It ran and its build is still kept: it can be rolled back to.
    can_rollback: bool = False
    #: The running check's view: ``unknown`` until checked (or with checks off).
    health: HealthPublic | None = None

    @classmethod
    def of(cls, deployment: Deployment, settings: Settings) -> DeploymentPublic:
        public = cls.model_validate(deployment).model_copy(
            update={"can_rollback": can_rollback(deployment)}
        )
        if deployment.status is not DeploymentStatus.RUNNING:
            return public
        return public.model_copy(
            update={
                "url": hosts.deployment_url(deployment, settings),
                "environment_url": hosts.environment_url(deployment.environment, settings),
            }
        )


#: A full commit id: SHA-1 (40 hex digits) or SHA-256 (64).
COMMIT_PATTERN = r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$"


class RollbackRequest(ApiBody):
    #: The deployment whose kept build runs again; left out: the production environment's
    #: newest kept build before the one serving.
    deployment_id: str | None = Field(default=None, max_length=64)


class DeployRequest(ApiBody):
    #: Defaults to the project's default branch.
    branch: str | None = Field(default=None, max_length=BRANCH_CHARS)
    #: That exact commit of the branch; left out: the branch's newest.
    commit: str | None = Field(default=None, pattern=COMMIT_PATTERN)


class WebhookCreated(BaseModel):
    """A new webhook secret: shown this once, then only used to check signatures."""

    url: str
    secret: str


class WebhookPublic(BaseModel):
    #: Where the forge posts; null while the project has no webhook.
    url: str | None


class DeliveryPublic(BaseModel):
    """One call to the project's webhook and what devpush did with it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    #: The forge's own delivery id, when it sent one.
    delivery: str | None
    received_at: datetime
    forge: str
    event: str
    branch: str | None
    commit: str | None
    result: DeliveryResult
    reason: str
    deployment_id: str | None
