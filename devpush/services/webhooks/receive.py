"""One call to a project's webhook, from the verified bytes to the answer.

The flow: the project's secret → the sender (headers) → its signature → the body → a
delivery id seen before (answered with the first result) → the repository → deploy or
stop through ``devpush.services.push``. Every outcome is recorded as a delivery, refused
ones too; only the worker touches git and Docker, so this answers at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from devpush.core.crypto import DecryptionError
from devpush.core.errors import NotFound
from devpush.models import DeliveryResult, DeployTrigger, Project, WebhookDelivery
from devpush.services import deliveries, push
from devpush.services.jobs import DeployJobs
from devpush.services.webhooks.base import (
    BadPayloadError,
    Event,
    EventKind,
    Forge,
    Headers,
    SignatureError,
)
from devpush.services.webhooks.registry import detect_forge
from devpush.services.webhooks.repo_urls import same_repository
from devpush.services.webhooks.secret import webhook_secret

PING_REASON = "ping: the webhook is set up"
NO_FORGE = (
    "no signature: sign the body (X-Hub-Signature-256, X-Gitlab-Token, X-Gitea-Signature, "
    "X-Forgejo-Signature or X-Devpush-Signature)"
)
UNDECRYPTABLE_KEY_REASON = (
    "the webhook's secret does not decrypt (the server's secret key changed): "
    "rotate the secret and paste the new one into the forge"
)
#: The forge column's value when no forge's headers were there.
UNKNOWN_FORGE = "unknown"
GENERIC = "generic"


#: How long a copy of a delivery waits for the first one's result.
_FIRST_RESULT_WAIT_SECONDS = 2.0
#: The status of an accepted call's answer by its result (else 200).
_STATUS = {DeliveryResult.DEPLOYED: 202, DeliveryResult.REFUSED: 422}


class NoWebhookError(NotFound):
    """No project with this id, or it has no webhook: answered 404 (the same for both)."""

    user_message = "no webhook at this address: create one in the project's settings"


@dataclass(frozen=True, slots=True)
class Answer:
    """What the endpoint answers: its status and the small JSON body."""

    status_code: int
    delivery: str | None
    result: DeliveryResult
    reason: str
    deployment_id: str | None = None

    def body(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _RECORDED}


#: An answer's fields but its status: its JSON body, and what a delivery's row records.
_RECORDED = ("delivery", "result", "reason", "deployment_id")


def answer_of(row: WebhookDelivery, *, status_code: int) -> Answer:
    return Answer(status_code, **{name: getattr(row, name) for name in _RECORDED})


def delivery_id(forge: Forge, headers: Headers) -> str | None:
    """The forge's delivery id, cut to what the column holds."""
    return (forge.delivery(headers) or "")[:200] or None


@dataclass(frozen=True, slots=True)
class Call:
    """One call to a project's webhook as its delivery row names it: the project, the
    sender's forge, the event's name and the delivery id. A call refused before its forge's
    headers are read names the project only."""

    project: Project
    forge: str = UNKNOWN_FORGE
    event_name: str = ""
    delivery: str | None = None

    @classmethod
    def of(cls, project: Project, forge: Forge | None, headers: Headers) -> Call:
        """The call as the forge's headers name it (no forge: unknown)."""
        if forge is None:
            return cls(project)
        return cls(project, forge.name, forge.event_name(headers)[:50], delivery_id(forge, headers))


def find_project(session: Session, *, project_id: str) -> Project:
    """The project behind a hook address; raises :class:`NoWebhookError`."""
    project = session.get(Project, project_id)
    if project is None or project.webhook_secret_encrypted is None:
        raise NoWebhookError
    return project


def refuse(
    session: Session,
    call: Call,
    *,
    status_code: int,
    reason: str,
    keep: int,
    found: Event | None = None,
) -> Answer:
    """Record a refused call (it never takes the delivery id from the real one) and answer it."""
    deliveries.record_delivery(
        session,
        project=call.project,
        forge=call.forge,
        event=call.event_name,
        delivery=call.delivery,
        branch=found.branch if found else None,
        commit=found.commit if found else None,
        result=DeliveryResult.REFUSED,
        reason=reason,
        keep=keep,
    )
    return Answer(status_code, call.delivery, DeliveryResult.REFUSED, reason)


def receive(
    session: Session,
    *,
    project: Project,
    headers: Headers,
    body: bytes,
    fernet: Fernet,
    queue: DeployJobs,
    keep: int,
) -> Answer:
    """Handle one call whose body was read whole (the size limit is the caller's)."""
    forge = detect_forge(headers)
    try:
        secret = webhook_secret(project, fernet=fernet)
    except DecryptionError:
        sender = Call(project, forge.name if forge else UNKNOWN_FORGE)
        return refuse(session, sender, status_code=401, reason=UNDECRYPTABLE_KEY_REASON, keep=keep)
    if secret is None:
        raise NoWebhookError
    if forge is None:
        return refuse(session, Call(project), status_code=401, reason=NO_FORGE, keep=keep)
    call = Call.of(project, forge, headers)
    refused = partial(refuse, session, call, keep=keep)
    try:
        forge.verify(headers, body, secret)
        event = forge.parse(headers, body)
    except (SignatureError, BadPayloadError) as exc:
        status_code = 401 if isinstance(exc, SignatureError) else exc.status_code
        return refused(status_code=status_code, reason=str(exc))
    seen = call.delivery and deliveries.find_delivery(
        session, project=project, delivery=call.delivery
    )
    if seen:
        return _seen_before(session, call)
    if problem := _other_repository(project, forge, event):
        return refused(status_code=422, reason=problem, found=event)
    return _act(session, call, event=event, queue=queue, keep=keep)


def _other_repository(project: Project, forge: Forge, event: Event) -> str | None:
    """Why a push or deletion is not for the project's repository; None when it is.

    The generic form names no repository: its signature is the proof.
    """
    if event.kind not in (EventKind.PUSH, EventKind.DELETE) or forge.name == GENERIC:
        return None
    if same_repository(project.repo_url, event.repo_urls):
        return None
    given = event.repo_urls[0] if event.repo_urls else "no repository"
    return f"this call is for {given}, but the project deploys {project.repo_url}"


def _act(session: Session, call: Call, *, event: Event, queue: DeployJobs, keep: int) -> Answer:
    """Claim the delivery id, do what the event asks, record the outcome under the claim.

    The claim is written in the same transaction as the deployment, so of two copies
    arriving at once only one deploys; the other finds the first one's record.
    """
    project = call.project
    row = deliveries.claim_delivery(
        session,
        project=project,
        forge=call.forge,
        event=event.name[:50],
        delivery=call.delivery,
        branch=event.branch,
        commit=event.commit,
    )
    if row is None:
        return _seen_before(session, call)
    result, reason, deployment_id = DeliveryResult.IGNORED, event.reason, None
    if event.kind is EventKind.PING:
        reason = PING_REASON
    elif event.kind is EventKind.PUSH and event.branch and event.commit:
        seen = push.Push(project, event.branch, event.commit, DeployTrigger.WEBHOOK)
        outcome = push.deploy_push(session, seen, queue=queue)
        result, reason = outcome.result, outcome.reason
        deployment_id = outcome.deployment.id if outcome.deployment else None
    elif event.kind is EventKind.DELETE and event.branch:
        outcome = push.stop_branch(session, project=project, branch=event.branch, queue=queue)
        result, reason = outcome.result, outcome.reason
    if inspect(row).transient:
        # Nothing to do rolled the claim back with the rest: record it again.
        session.add(row)
    try:
        deliveries.finish_delivery(
            session, row, result=result, reason=reason, deployment_id=deployment_id, keep=keep
        )
    except IntegrityError:
        return _seen_before(session, call)
    return answer_of(row, status_code=_STATUS.get(result, 200))


def _seen_before(session: Session, call: Call) -> Answer:
    """A delivery id claimed before: the first delivery's result, nothing done again.

    A copy that arrives while the first is still being handled waits for its result
    (briefly: the first only queues work).
    """
    session.rollback()
    deadline = time.monotonic() + _FIRST_RESULT_WAIT_SECONDS
    while True:
        seen = deliveries.find_delivery(session, project=call.project, delivery=call.delivery or "")
        if seen is None:  # only a claimed id conflicts, and claims are never deleted first
            raise LookupError(f"delivery {call.delivery!r} conflicted but is not recorded")
        if not deliveries.is_pending(seen) or time.monotonic() > deadline:
            return answer_of(seen, status_code=200)
        session.rollback()  # a new transaction sees the first one's commit
        time.sleep(0.05)
