"""Custom domains of an environment: add (validated, one claim per server), list, remove.

A domain is served once the worker has checked that its DNS points at the server
(``devpush.services.domain_check``, the job in ``devpush.workers.tasks.domains``); the
proxy table then routes it like the environment's own host, or to Caddy's redirect
server when it redirects to its apex or www twin. Its status as users read it is
``pending``, ``verified`` (its environment runs nothing yet), ``active`` (the proxy
serves it) or ``failed``, with the last check's reason (docs/domains.md).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from devpush.core.config import Settings
from devpush.core.errors import Conflict, InvalidInput, NotFound
from devpush.models import (
    Domain,
    DomainStatus,
    Environment,
    Project,
    ProxyTableRow,
)
from devpush.services.environments import PRODUCTION_NAME
from devpush.services.hosts import environment_host_of
from devpush.services.jobs import DomainJobs
from devpush.services.project_rows import project_rows

#: The longest name DNS allows (RFC 1035), and one label's.
MAX_NAME: Final = 253
MAX_LABEL: Final = 63
_LABEL: Final = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
#: The status users read when a verified domain is in the proxy table.
ACTIVE: Final = "active"
WWW: Final = "www."


class DomainNotFoundError(NotFound, LookupError):
    """No such domain in this project."""

    user_message = "domain not found in this project"


class DomainTakenError(Conflict):
    """The name is claimed already (by this project or another, of any team)."""


class DomainInUseError(Conflict):
    """Another domain redirects to this one."""


def normalize_name(raw: str, *, platform_domain: str) -> str:
    """The name as stored (lowercase, ASCII, no final dot), or InvalidInput saying why not.

    Refused: IP addresses, single labels (``localhost``), wildcards, anything under the
    server's own domain (its names are the platform's), and what DNS cannot hold.
    """
    name = raw.strip().lower().rstrip(".")
    if not name:
        raise InvalidInput("give a domain name, such as www.example.com")
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        pass
    else:
        raise InvalidInput(f"{raw.strip()!r} is an IP address: give a domain name")
    if "*" in name:
        raise InvalidInput("wildcard domains are not supported: add each name")
    if "://" in name or "/" in name or ":" in name:
        raise InvalidInput(f"{raw.strip()!r} is not a domain name (no scheme, port or path)")
    if not name.isascii():  # an internationalized name: stored as DNS has it (punycode)
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidInput(f"{raw.strip()!r} is not a valid domain name") from None
    labels = name.split(".")
    if len(labels) < 2:
        raise InvalidInput(f"{name!r} is not a public domain name: it needs a dot")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"a domain name is at most {MAX_NAME} characters")
    for label in labels:
        if not _LABEL.match(label):
            raise InvalidInput(
                f"{name!r} is not a valid domain name: each part has letters, digits and inner"
                f" dashes, at most {MAX_LABEL} characters"
            )
    if labels[-1].isdigit():
        raise InvalidInput(f"{name!r} is not a valid domain name: its last part is a number")
    platform = platform_domain.lower().rstrip(".")
    if name == platform or name.endswith(f".{platform}"):
        raise InvalidInput(
            f"{name!r} is under this server's own domain ({platform}): its deployments already"
            " have names there"
        )
    return name


def twin(name: str) -> str:
    """The apex of a ``www.`` name, and the ``www.`` name of any other."""
    return name.removeprefix(WWW) if name.startswith(WWW) else f"{WWW}{name}"


@dataclass(frozen=True, slots=True)
class DnsRecord:
    """One record the user creates at their DNS provider."""

    type: str
    name: str
    value: str


def dns_records(name: str, *, target_host: str, settings: Settings) -> list[DnsRecord]:
    """The records that verify ``name``, the recommended one first: A/AAAA to the server's
    addresses, or a CNAME to the environment's host (not at an apex, which DNS forbids
    to carry a CNAME beside its other records: a name of two labels counts as one)."""
    addresses = [
        DnsRecord("AAAA" if ipaddress.ip_address(addr).version == 6 else "A", name, addr)
        for addr in settings.server_address_list
    ]
    cname = DnsRecord("CNAME", name, f"{target_host}.")
    if name.count(".") == 1:
        return addresses or [cname]
    return [cname, *addresses]


def find_environment(session: Session, *, project: Project, name: str) -> Environment:
    environment = session.scalar(
        select(Environment).where(Environment.project_id == project.id, Environment.name == name)
    )
    if environment is None:
        raise InvalidInput(f"the project has no environment {name!r}")
    return environment


def list_domains(session: Session, *, project_id: str) -> list[Domain]:
    return project_rows(
        session, Domain, Domain.project_id, project_id, Domain.created_at, Domain.name
    )


def find_domain(session: Session, *, project: Project, name: str) -> Domain:
    domain = session.scalar(select(Domain).where(Domain.name == name.strip().lower().rstrip(".")))
    if domain is None or domain.project_id != project.id:
        raise DomainNotFoundError(name)
    return domain


def _taken_message(name: str, existing: Domain, project: Project) -> str:
    if existing.project_id == project.id:
        return f"{name} is already a domain of this project ({existing.environment.name})"
    # Whose it is stays private: another team's project is none of this team's business.
    return (
        f"{name} is already used by another project on this server: a domain belongs to one"
        " environment; remove it there first"
    )


def add_domain(
    session: Session,
    *,
    project: Project,
    name: str,
    environment: str | None,
    redirect_to: str | None,
    settings: Settings,
    jobs: DomainJobs,
) -> Domain:
    """The new domain (committed, pending) with its first check enqueued."""
    name = normalize_name(name, platform_domain=settings.domain)
    env = find_environment(session, project=project, name=environment or PRODUCTION_NAME)
    existing = session.scalar(select(Domain).where(Domain.name == name))
    if existing is not None:
        raise DomainTakenError(_taken_message(name, existing, project))
    target = _redirect_target(session, name=name, redirect_to=redirect_to, environment=env)
    domain = Domain(
        name=name,
        project_id=project.id,
        environment_id=env.id,
        redirect_to=target,
        status=DomainStatus.PENDING,
        reason="not checked yet",
    )
    session.add(domain)
    try:
        session.commit()
    except IntegrityError:  # a claim that won the race since the check above
        session.rollback()
        raise DomainTakenError(
            f"{name} is already used by another project on this server: a domain belongs to one"
            " environment; remove it there first"
        ) from None
    jobs.enqueue_domain_check(domain.id)
    return domain


def _redirect_target(
    session: Session, *, name: str, redirect_to: str | None, environment: Environment
) -> str | None:
    """``redirect_to`` checked: the name's apex or www twin, a domain of the same environment
    that is served itself."""
    if not redirect_to:
        return None
    target = redirect_to.strip().lower().rstrip(".")
    if target != twin(name):
        raise InvalidInput(
            f"{name} can redirect only to {twin(name)} (apex to www, or www to apex)"
        )
    other = session.scalar(select(Domain).where(Domain.name == target))
    if other is None or other.environment_id != environment.id:
        raise InvalidInput(f"add {target} to the {environment.name} environment first")
    if other.redirect_to:
        raise InvalidInput(f"{target} redirects to {name} itself: remove that redirect first")
    return target


def set_redirect(
    session: Session, *, domain: Domain, redirect_to: str | None, jobs: DomainJobs
) -> Domain:
    """Redirect the domain to its twin, or serve it itself (``None``); routed anew at once."""
    if redirect_to and session.scalar(select(Domain).where(Domain.redirect_to == domain.name)):
        raise InvalidInput(f"{twin(domain.name)} redirects to {domain.name}: remove that first")
    domain.redirect_to = _redirect_target(
        session, name=domain.name, redirect_to=redirect_to, environment=domain.environment
    )
    session.commit()
    jobs.enqueue_routes_refresh()
    return domain


def check_again(session: Session, *, domain: Domain, jobs: DomainJobs) -> Domain:
    """Start the checks over (a user fixed their DNS): back to pending, checked now."""
    domain.status = DomainStatus.PENDING
    domain.attempts = 0
    domain.reason = "checking again"
    domain.next_check_at = None
    session.commit()
    jobs.enqueue_domain_check(domain.id)
    return domain


def remove_domain(session: Session, *, domain: Domain, jobs: DomainJobs) -> None:
    """Remove the domain and its proxy entry in one commit: Caddy stops routing it once its
    cached answer expires (a second at most); the worker then rewrites the table."""
    redirecting = session.scalar(select(Domain).where(Domain.redirect_to == domain.name))
    if redirecting is not None:
        raise DomainInUseError(
            f"{redirecting.name} redirects to {domain.name}: remove {redirecting.name} first"
        )
    entry = session.get(ProxyTableRow, domain.name)
    if entry is not None:
        session.delete(entry)
    session.delete(domain)
    session.commit()
    jobs.enqueue_routes_refresh()


def status_of(session: Session, domain: Domain) -> str:
    """``active`` for a verified domain the proxy serves, else the stored status."""
    if (
        domain.status is DomainStatus.VERIFIED
        and session.get(ProxyTableRow, domain.name) is not None
    ):
        return ACTIVE
    return domain.status.value


@dataclass(frozen=True, slots=True)
class DomainView:
    """A domain as the API and the settings page show it."""

    domain: Domain
    environment: str
    status: str
    reason: str
    dns_record: DnsRecord
    dns_records: list[DnsRecord]
    #: The twin it could redirect to (a served domain of the same environment), or None.
    redirect_choice: str | None = None


def view_of(
    session: Session, domain: Domain, *, project: Project, settings: Settings
) -> DomainView:
    status = status_of(session, domain)
    reason = domain.reason
    if status == DomainStatus.VERIFIED.value:
        reason = f"verified; the {domain.environment.name} environment has no running deployment"
    elif status == ACTIVE:
        reason = f"redirects to {domain.redirect_to}" if domain.redirect_to else ""
    records = dns_records(
        domain.name,
        target_host=environment_host_of(domain.environment, project, settings),
        settings=settings,
    )
    return DomainView(
        domain=domain,
        environment=domain.environment.name,
        status=status,
        reason=reason,
        dns_record=records[0],
        dns_records=records,
    )


def domain_views(session: Session, *, project: Project, settings: Settings) -> list[DomainView]:
    domains = list_domains(session, project_id=project.id)
    by_name = {domain.name: domain for domain in domains}
    views = []
    for domain in domains:
        other = by_name.get(twin(domain.name))
        choice = (
            other.name
            if other is not None
            and other.environment_id == domain.environment_id
            and not other.redirect_to
            and not domain.redirect_to
            else None
        )
        view = view_of(session, domain, project=project, settings=settings)
        views.append(dataclasses.replace(view, redirect_choice=choice))
    return views
