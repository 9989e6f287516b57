"""A project's webhook over the API: create or rotate its secret, read its address, and
the deliveries it received.

Owners create and rotate (403 for a member, 404 outside the team); members read the
address and the deliveries. The secret is in the answer to a create or rotate only.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from devpush.api.schemas import DeliveryPublic, WebhookCreated, WebhookPublic
from devpush.core.config import Settings
from devpush.deps import ApiOwnerProject, ApiProject, FernetDep, SessionDep, SettingsDep
from devpush.models import Project
from devpush.services import deliveries as delivery_service
from devpush.services.webhooks.secret import hook_url, rotate_secret

router = APIRouter(prefix="/projects", tags=["webhooks"])


def _url(project: Project, request: Request, settings: Settings) -> str:
    return hook_url(project, base_url=settings.app_url or str(request.base_url))


@router.post(
    "/{project_ref}/webhook", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated
)
def rotate_webhook(
    request: Request,
    project: ApiOwnerProject,
    session: SessionDep,
    fernet: FernetDep,
    settings: SettingsDep,
) -> WebhookCreated:
    """Create the webhook, or give it a new secret (the old one stops working at once).
    The secret is shown in this answer only."""
    secret = rotate_secret(session, project=project, fernet=fernet)
    return WebhookCreated(url=_url(project, request, settings), secret=secret)


@router.get("/{project_ref}/webhook", response_model=WebhookPublic)
def show_webhook(request: Request, project: ApiProject, settings: SettingsDep) -> WebhookPublic:
    """The webhook's address (never its secret); ``url`` is null when there is none."""
    if project.webhook_secret_encrypted is None:
        return WebhookPublic(url=None)
    return WebhookPublic(url=_url(project, request, settings))


@router.get("/{project_ref}/deliveries", response_model=list[DeliveryPublic])
def list_deliveries(
    project: ApiProject, session: SessionDep, limit: int = 50
) -> list[DeliveryPublic]:
    """The webhook's deliveries, newest first (refused ones too, with the reason)."""
    rows = delivery_service.list_deliveries(session, project=project, limit=max(1, min(limit, 500)))
    return [DeliveryPublic.model_validate(row) for row in rows]
