"""Webhook deliveries: each call to a project's webhook (and each commit the poller saw).

A user reads them to see why a push did or did not deploy. An accepted delivery is
*claimed* before devpush acts on it: its forge delivery id goes into ``dedupe_key``,
unique per project, so a delivery the forge sends again (a retry, a redelivery) finds
the first one and deploys nothing twice, even when both arrive at the same instant.
A refused call (bad signature, another repository) is recorded without a key: it can
never take a delivery id away from the real delivery.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from devpush.models import DeliveryResult, Project, WebhookDelivery
from devpush.services.project_rows import project_rows

#: Deliveries kept per project when the caller does not say (Settings.webhook_deliveries_kept).
DEFAULT_KEPT = 500
#: The reason a claimed delivery shows until its outcome is recorded (a copy arriving
#: meanwhile waits while it reads so).
PENDING_REASON = "received"


def is_pending(row: WebhookDelivery) -> bool:
    """Claimed, and its outcome not recorded yet."""
    return row.result is DeliveryResult.IGNORED and row.reason == PENDING_REASON


def claim_delivery(
    session: Session,
    *,
    project: Project,
    forge: str,
    event: str,
    delivery: str | None,
    branch: str | None = None,
    commit: str | None = None,
    keyed: bool = True,
) -> WebhookDelivery | None:
    """Record an accepted delivery before acting on it; None when ``delivery`` was claimed
    before (the caller answers with :func:`find_delivery`'s result instead).

    The row says ``ignored: received`` until :func:`finish_delivery` records the outcome.
    Not ``keyed`` (a refused call), the row takes no key and the answer is never None.
    """
    row = WebhookDelivery(
        project_id=project.id,
        delivery=delivery,
        dedupe_key=(delivery or None) if keyed else None,
        forge=forge,
        event=event,
        branch=branch,
        commit=commit,
        result=DeliveryResult.IGNORED,
        reason=PENDING_REASON,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


def finish_delivery(
    session: Session,
    row: WebhookDelivery,
    *,
    result: DeliveryResult,
    reason: str,
    deployment_id: str | None = None,
    keep: int = DEFAULT_KEPT,
) -> WebhookDelivery:
    """Record what a claimed delivery led to, drop the project's oldest beyond ``keep``, commit."""
    row.result, row.reason, row.deployment_id = result, reason, deployment_id
    session.flush()
    _trim(session, project_id=row.project_id, keep=keep)
    session.commit()
    return row


def record_delivery(
    session: Session,
    *,
    project: Project,
    forge: str,
    event: str,
    delivery: str | None,
    result: DeliveryResult,
    reason: str,
    branch: str | None = None,
    commit: str | None = None,
    deployment_id: str | None = None,
    keep: int = DEFAULT_KEPT,
) -> WebhookDelivery | None:
    """Claim and finish in one step (a refused call, or the poller's record); committed.

    None when an accepted ``delivery`` id was recorded before. A refused one never claims.
    """
    row = claim_delivery(
        session,
        project=project,
        forge=forge,
        event=event,
        delivery=delivery,
        branch=branch,
        commit=commit,
        keyed=result is not DeliveryResult.REFUSED,
    )
    if row is None:
        session.rollback()
        return None
    return finish_delivery(
        session, row, result=result, reason=reason, deployment_id=deployment_id, keep=keep
    )


def find_delivery(session: Session, *, project: Project, delivery: str) -> WebhookDelivery | None:
    """The accepted delivery recorded with this forge delivery id, if any."""
    return session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.project_id == project.id, WebhookDelivery.dedupe_key == delivery
        )
    )


def list_deliveries(
    session: Session, *, project: Project, limit: int = 50
) -> list[WebhookDelivery]:
    """The project's deliveries, newest first."""
    newest_first = (WebhookDelivery.received_at.desc(), WebhookDelivery.id)
    return project_rows(
        session, WebhookDelivery, WebhookDelivery.project_id, project.id, *newest_first, limit=limit
    )


def _trim(session: Session, *, project_id: str, keep: int) -> None:
    newest = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.project_id == project_id)
        .order_by(WebhookDelivery.received_at.desc())
        .limit(keep)
    )
    session.execute(
        delete(WebhookDelivery)
        .where(WebhookDelivery.project_id == project_id, WebhookDelivery.id.not_in(newest))
        .execution_options(synchronize_session=False)
    )
