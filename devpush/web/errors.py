"""The error page in the site's layout, for an HTTP error or a domain error no page caught
(``devpush.core.errors``; the handlers are registered by ``create_app``)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from devpush.core.errors import DevpushError
from devpush.deps import LoginRequiredError, current_user, web_context
from devpush.web.rendering import render


def error_page(request: Request, exc: DevpushError) -> Response:
    """A domain error's page: its status and message."""
    return render_error(request, exc.http_status, exc.message)


def render_error(request: Request, status_code: int, detail: object) -> Response:
    """The error page in the site's layout: the navigation of the signed-in user, if any.

    The request's own DB session is closed by now, so the user is read with a new one, and
    the page is rendered before it closes (the team switcher reads the user's teams).
    """
    with request.app.state.sessions() as session:
        request.state.web = None
        try:
            user = current_user(request, session, request.app.state.settings)
            web_context(request, user, session)
        except (LoginRequiredError, StarletteHTTPException):
            request.state.web = None  # signed out, or in no team: the bare layout
        return render(
            request,
            "errors/pages/error.html",
            {"status_code": status_code, "detail": detail},
            status_code=status_code,
        )
