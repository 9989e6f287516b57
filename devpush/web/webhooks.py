"""A project's webhook in the browser: create or rotate its secret (shown once), and the
Deliveries page.

The settings page shows the webhook's section (``webhooks/partials/_settings.html``);
rotating is for owners (``WebOwnerProject``), the deliveries are for the whole team.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from devpush.deps import FernetDep, SessionDep, WebOwnerProject, WebProject
from devpush.services import deliveries as delivery_service
from devpush.services.webhooks.secret import rotate_secret
from devpush.web.rendering import render

router = APIRouter(tags=["webhooks"])

#: Deliveries shown on the page (the newest).
PAGE_SIZE = 100


@router.post("/projects/{project_ref}/settings/webhook")
def rotate_webhook(
    request: Request, project: WebOwnerProject, session: SessionDep, fernet: FernetDep
) -> Response:
    """Create the webhook or give it a new secret; the answer shows the secret, once (a
    page, not a redirect: the secret is never stored where a later page could read it)."""
    secret = rotate_secret(session, project=project, fernet=fernet)
    return render(request, "webhooks/pages/secret.html", {"project": project, "secret": secret})


@router.get("/projects/{project_ref}/deliveries")
def deliveries_page(request: Request, project: WebProject, session: SessionDep) -> Response:
    rows = delivery_service.list_deliveries(session, project=project, limit=PAGE_SIZE)
    return render(
        request, "webhooks/pages/deliveries.html", {"project": project, "deliveries": rows}
    )
