"""Deployment host names and URLs, from the database's rows (no I/O).

Every running deployment answers on ``<short-id>-<project>.<domain>``, and every
environment on the URL of its newest running deployment: ``<project>.<domain>``
for production, ``<env>-<project>.<domain>`` for the others. ``<project>`` is the
project's host label, unique across teams (:func:`free_host_label`). Which runner
answers for a host is the proxy table's job (``devpush.services.proxy_table``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Final

from devpush.core.config import Settings
from devpush.models import Deployment, DeploymentStatus, Environment, EnvironmentKind, Project

#: Characters of the deployment id in its host name.
SHORT_ID_LENGTH: Final = 8
#: A DNS label's limit (RFC 1035).
MAX_LABEL: Final = 63
#: A project's host label: short enough that an environment or deployment prefix never
#: cuts into it (see _fit).
MAX_HOST_LABEL: Final = 40


def dns_label(text: str) -> str:
    """Lowercase letters, digits and inner dashes: ``feature/Logs`` → ``feature-logs``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _fit(prefix: str, slug: str) -> str:
    """``<prefix>-<slug>`` within one DNS label: a long prefix is cut and given a hash."""
    label = f"{prefix}-{slug}" if prefix else slug
    if len(label) <= MAX_LABEL:
        return label
    digest = hashlib.sha256(label.encode()).hexdigest()[:6]
    room = max(MAX_LABEL - len(slug) - len(digest) - 2, 1)
    return f"{prefix[:room].rstrip('-')}-{digest}-{slug}"[:MAX_LABEL].rstrip("-")


def deployment_host(*, deployment_id: str, host_label: str, domain: str) -> str:
    """``<short-id>-<project>.<domain>``: one deployment, for as long as it runs."""
    label = _fit(dns_label(deployment_id[:SHORT_ID_LENGTH]), dns_label(host_label))
    return f"{label}.{domain}"


def environment_host(
    *, environment_name: str, production: bool, host_label: str, domain: str
) -> str:
    """``<project>.<domain>`` for production, ``<env>-<project>.<domain>`` otherwise."""
    prefix = "" if production else dns_label(environment_name) or "env"
    return f"{_fit(prefix, dns_label(host_label))}.{domain}"


def environment_host_of(environment: Environment, project: Project, settings: Settings) -> str:
    """The host name of ``environment`` (of ``project``), from its row."""
    return environment_host(
        environment_name=environment.name,
        production=environment.kind is EnvironmentKind.PRODUCTION,
        host_label=project.host_label,
        domain=settings.domain,
    )


def labels_clash(a: str, b: str) -> bool:
    """Whether two projects' host names could meet: every host of a project is its label
    or ends with ``-<label>``, so they meet only when one label is the other's tail."""
    return a == b or a.endswith(f"-{b}") or b.endswith(f"-{a}")


def free_host_label(slug: str, *, team_slug: str, salt: str, taken: Iterable[str]) -> str:
    """A host label for a new project that clashes with none ``taken`` (every team's).

    The slug itself when free, then ``<slug>-<team>``, then ``<slug>-<hash>``: a second
    team's ``shop`` gets ``shop-acme``, never the first team's URLs. ``salt`` (the
    project's id) keeps the hashed fallbacks distinct.
    """
    taken = list(taken)
    base = dns_label(slug)[:MAX_HOST_LABEL].strip("-") or "project"

    def with_suffix(suffix: str) -> str:
        return f"{base[: MAX_HOST_LABEL - len(suffix) - 1].rstrip('-')}-{suffix}"

    team = dns_label(team_slug)[: MAX_HOST_LABEL // 2].strip("-")
    candidates = [base, *([with_suffix(team)] if team else [])]
    candidates += (
        with_suffix(hashlib.sha256(f"{salt}/{n}".encode()).hexdigest()[:6]) for n in range(100)
    )
    for candidate in candidates:
        if not any(labels_clash(candidate, other) for other in taken):
            return candidate
    raise ValueError(f"no free host label for {slug!r}")  # 100 hashes all taken: unreachable


def public_url(host: str, settings: Settings) -> str:
    """The address a user opens: the scheme and port links use (default ports left out)."""
    default = {"http": 80, "https": 443}[settings.public_scheme]
    port = settings.public_port
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{settings.public_scheme}://{host}{suffix}/"


def deployment_url(deployment: Deployment, settings: Settings) -> str | None:
    """The deployment's own URL while it runs; None once failed, stopped or superseded."""
    if deployment.status is not DeploymentStatus.RUNNING:
        return None
    return public_url(
        deployment_host(
            deployment_id=deployment.id,
            host_label=deployment.project.host_label,
            domain=settings.domain,
        ),
        settings,
    )


def environment_url(environment: Environment, settings: Settings) -> str | None:
    """The environment's URL while one of its deployments runs; None otherwise."""
    if not any(d.status is DeploymentStatus.RUNNING for d in environment.deployments):
        return None
    return public_url(environment_host_of(environment, environment.project, settings), settings)
