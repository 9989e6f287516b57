"""Template rendering: the one place that knows about htmx partials and the CSRF token."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from devpush.core.security import CSRF_FORM_FIELD, CSRF_HEADER, csrf_token_for
from devpush.services import hosts
from devpush.services.rollback import can_rollback
from devpush.services.webhooks.secret import hook_url


def _page_globals(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    return {
        # Live addresses through the proxy: None for a deployment that no longer runs.
        "deployment_url": lambda deployment: hosts.deployment_url(deployment, settings),
        "environment_url": lambda environment: hosts.environment_url(environment, settings),
        # The address forges post a project's webhook calls to.
        "webhook_url": lambda project: hook_url(
            project, base_url=settings.app_url or str(request.base_url)
        ),
        "csrf_token": csrf_token_for(request.session),
        "csrf_field": CSRF_FORM_FIELD,
        "csrf_header": CSRF_HEADER,
        # Set by the auth dependencies; absent on the login page.
        "web": getattr(request.state, "web", None),
        "user": getattr(request.state, "user", None),
    }


def build_templates(directory: Path) -> Jinja2Templates:
    templates = Jinja2Templates(directory=directory, context_processors=[_page_globals])
    templates.env.globals["status_class"] = lambda status: f"status status-{status}"
    templates.env.globals["can_rollback"] = can_rollback
    return templates


def is_htmx(request: Request) -> bool:
    # Boosted links are whole-page navigations even though htmx sends them.
    return (
        request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"
    )


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render the template ``name`` (a page, or a partial an htmx request asked for)."""
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, dict(context or {}), status_code=status_code)


def redirect(request: Request, url: str) -> Response:
    """After a POST: a 303 for a form, an HX-Redirect for htmx."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)
