"""A project's log drains: add (validated), list, find, remove; how they are shown.

An https drain's HMAC secret is made here, returned once to be shown, and kept
encrypted with any request headers the user gave (an API key for the sink); URLs are
shown without their query string, headers by name only.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Final, Literal, get_args
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.orm import Session

from devpush.core.crypto import decrypt_mapping, encrypt_mapping
from devpush.core.errors import NotFound
from devpush.logs.levels import Level
from devpush.models import DrainKind, EnvironmentKind, LogDrain, Project
from devpush.services.project_rows import delete_row, project_row, project_rows

Source = Literal["stdout", "stderr", "request"]
#: LOG_SOURCES, typed (a test checks they agree).
SOURCES: Final[tuple[Source, ...]] = get_args(Source)
SYSLOG_SCHEMES: Final = {"syslog": False, "syslog+tls": True}  # scheme → TLS
MAX_HEADERS: Final = 10
_HMAC_KEY: Final = "hmac"
_HEADER_PREFIX: Final = "header:"
# RFC 9110 token characters: what a header name may hold.
_TOKEN: Final = frozenset("!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits)


class DrainNotFoundError(NotFound, LookupError):
    """No such drain in this project."""

    user_message = "log drain not found"


@dataclass(frozen=True, slots=True)
class SyslogAddress:
    host: str
    port: int
    tls: bool


def syslog_address(url: str) -> SyslogAddress:
    """``syslog://host:port`` (TCP) or ``syslog+tls://host:port``; ValueError says why not."""
    parts = urlsplit(url)
    if parts.scheme not in SYSLOG_SCHEMES:
        raise ValueError("a syslog drain's URL is syslog://host:port or syslog+tls://host:port")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the syslog port must be a number from 1 to 65535") from None
    if not parts.hostname or port is None or port == 0:
        raise ValueError("a syslog drain's URL needs a host and a port: syslog+tls://host:6514")
    if parts.username is not None or parts.path not in ("", "/") or parts.query:
        raise ValueError("a syslog drain's URL is only syslog+tls://host:port")
    return SyslogAddress(host=parts.hostname, port=port, tls=SYSLOG_SCHEMES[parts.scheme])


def http_url_problem(url: str) -> str | None:
    """Why ``url`` is not a URL an https or otlp drain can post to (None: it is)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "the URL must be an https:// (or http://) URL"
    if parts.username is not None or parts.password is not None:
        return "the URL must not hold a user name or password: give a header instead"
    try:
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        return "the URL's port must be a number from 1 to 65535"
    return None


def otlp_logs_url(url: str) -> str:
    """Where OTLP/HTTP logs go: ``<url>/v1/logs`` (unless the URL already ends so)."""
    base = url.rstrip("/")
    return base if base.endswith("/v1/logs") else f"{base}/v1/logs"


class DrainCreate(BaseModel):
    """A new drain: its kind, where it sends, which lines, and any request headers."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: DrainKind
    #: https://… (https, otlp), or syslog://host:port, syslog+tls://host:port (syslog).
    url: str = Field(min_length=1, max_length=2000)
    #: Only ``production`` or only ``preview`` lines; None: every environment.
    environment: EnvironmentKind | None = None
    #: Which lines: runner output (``stdout``, ``stderr``) and request entries.
    sources: list[Source] = Field(default_factory=lambda: list(SOURCES))
    #: The lowest level sent (``warning``: warnings and errors); None: every line.
    min_level: Level | None = None
    #: Extra request headers (https and otlp), kept encrypted: an API key for the sink.
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("sources")
    @classmethod
    def _dedupe(cls, sources: list[Source]) -> list[Source]:
        if not sources:
            raise ValueError("choose at least one source: stdout, stderr or request")
        return [source for source in SOURCES if source in sources]

    @model_validator(mode="after")
    def _valid(self) -> DrainCreate:
        if any(ch.isspace() or ord(ch) < 32 for ch in self.url):
            raise ValueError("the URL must not contain spaces or control characters")
        if self.kind is DrainKind.SYSLOG:
            syslog_address(self.url)
            if self.headers:
                raise ValueError("a syslog drain takes no headers")
        elif problem := http_url_problem(self.url):
            raise ValueError(problem)
        if len(self.headers) > MAX_HEADERS:
            raise ValueError(f"at most {MAX_HEADERS} headers")
        for name, value in self.headers.items():
            if not name or not set(name) <= _TOKEN:
                raise ValueError(f"{name!r} is not a header name")
            if any(ord(ch) < 32 or ord(ch) == 127 for ch in value) or len(value) > 4000:
                raise ValueError(f"the value of header {name} must be one line of text")
        return self


def parse_header_lines(text: str) -> dict[str, str]:
    """``Name: value`` lines (the web form's headers box); ValueError names a bad line."""
    headers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise ValueError(f"header line {number} is not 'Name: value'")
        headers[name.strip()] = value.strip()
    return headers


@dataclass(frozen=True, slots=True)
class DrainSecrets:
    hmac: str | None
    headers: dict[str, str]


def create_drain(
    session: Session, *, project: Project, data: DrainCreate, fernet: Fernet
) -> tuple[LogDrain, str | None]:
    """The new drain (committed) and, for an https drain, its HMAC secret (to show once).

    It starts with the lines stored from now on.
    """
    secret = secrets.token_hex(32) if data.kind is DrainKind.HTTPS else None
    kept = {f"{_HEADER_PREFIX}{name}": value for name, value in data.headers.items()}
    if secret:
        kept[_HMAC_KEY] = secret
    drain = LogDrain(
        project_id=project.id,
        kind=data.kind,
        url=data.url,
        secrets_encrypted=encrypt_mapping(fernet, kept) if kept else "",
        environment=data.environment,
        sources=list(data.sources),
        min_level=data.min_level,
    )
    session.add(drain)
    session.commit()
    return drain, secret


def drain_secrets(drain: LogDrain, *, fernet: Fernet) -> DrainSecrets:
    kept = decrypt_mapping(fernet, drain.secrets_encrypted) if drain.secrets_encrypted else {}
    headers = {
        key.removeprefix(_HEADER_PREFIX): value
        for key, value in kept.items()
        if key.startswith(_HEADER_PREFIX)
    }
    return DrainSecrets(hmac=kept.get(_HMAC_KEY), headers=headers)


def list_drains(session: Session, *, project_id: str) -> list[LogDrain]:
    return project_rows(
        session, LogDrain, LogDrain.project_id, project_id, LogDrain.created_at, LogDrain.id
    )


def find_drain(session: Session, *, project: Project, drain_id: str) -> LogDrain:
    return project_row(session, LogDrain, drain_id, project=project, missing=DrainNotFoundError)


def delete_drain(session: Session, *, drain: LogDrain) -> None:
    delete_row(session, drain)


def shown_url(drain: LogDrain) -> str:
    """The URL as users see it: without a query string (sinks put keys there)."""
    parts = urlsplit(drain.url)
    shown = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return shown + ("?…" if parts.query else "")


def drain_status(drain: LogDrain) -> Literal["new", "ok", "failing"]:
    """``failing`` when the newest event is an error, ``ok`` after a delivery, else ``new``."""
    if drain.last_error_at is not None and (
        drain.last_delivery_at is None or drain.last_error_at >= drain.last_delivery_at
    ):
        return "failing"
    return "ok" if drain.last_delivery_at is not None else "new"


@dataclass(frozen=True, slots=True)
class DrainView:
    """A drain as the settings page lists it."""

    drain: LogDrain
    url: str
    header_names: list[str]
    status: str


def drain_view(drain: LogDrain, *, fernet: Fernet) -> DrainView:
    return DrainView(
        drain=drain,
        url=shown_url(drain),
        header_names=sorted(drain_secrets(drain, fernet=fernet).headers),
        status=drain_status(drain),
    )


def drain_views(session: Session, *, project_id: str, fernet: Fernet) -> list[DrainView]:
    return [
        drain_view(drain, fernet=fernet) for drain in list_drains(session, project_id=project_id)
    ]
