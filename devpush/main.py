"""The web app: ``create_app(settings)`` builds it; ``app`` is the one uvicorn serves.

``create_app`` builds the env-var cipher and the templates; the lifespan opens what
requests share (DB engine and sessions, the deploy queue, the log store and its HTTP
client) and closes it on shutdown; nothing is built at import time except through
``create_app`` itself. Errors: a domain error (``devpush.core.errors``) becomes its status
and message (``devpush.api.errors``, ``devpush.web.errors``), anything else a logged 500.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from devpush.api.errors import error_answer
from devpush.core.config import Settings, get_settings
from devpush.core.crypto import fernet_for
from devpush.core.db import create_db_engine, session_factory
from devpush.core.errors import DevpushError
from devpush.deps import LoginRequiredError
from devpush.routes import include_routers
from devpush.services.jobs import DeployJobs
from devpush.services.log_store import log_store, open_http_client
from devpush.web.errors import error_page, render_error
from devpush.web.form_errors import plain_message
from devpush.web.rendering import build_templates, is_htmx, redirect
from devpush.workers.queue import DeployQueue, huey_from_url

_APP_DIR = Path(__file__).resolve().parent

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, queue: DeployJobs | None = None) -> FastAPI:
    """Build the app. ``queue`` is where deploys are enqueued (default: ``queue_url``'s)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_db_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        app.state.queue = queue or DeployQueue(huey_from_url(settings.queue_url))
        async with open_http_client(settings) as store_http:
            app.state.log_store = log_store(settings, store_http)
            try:
                yield
            finally:
                engine.dispose()

    app = FastAPI(
        title="devpush",
        summary="Self-hosted push-to-deploy: projects, deployments and logs.",
        version=version("devpush"),  # the installed package's, from pyproject.toml
        lifespan=lifespan,
        docs_url=None,  # served offline by devpush.api.docs (see devpush.routes)
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.fernet = fernet_for(settings.secret_key.get_secret_value())
    app.state.templates = build_templates(_APP_DIR / "templates")

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie="devpush_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.environment != "development",
    )
    app.mount("/static", StaticFiles(directory=_APP_DIR / "static"), name="static")
    include_routers(app)

    @app.exception_handler(LoginRequiredError)
    async def _to_login(request: Request, _exc: LoginRequiredError) -> Response:
        # For htmx, an HX-Redirect: a redirect inside a swap would render the login page
        # into a fragment.
        return redirect(request, "/login")

    @app.exception_handler(DevpushError)
    async def _domain_error(request: Request, exc: DevpushError) -> Response:
        # The one map from a domain error to its status and message: routes catch only
        # what they answer differently (a form shown again with the message).
        if exc.http_status >= 500:
            log.error("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
        if request.url.path.startswith("/api/") or is_htmx(request):
            return error_answer(exc)
        return await run_in_threadpool(error_page, request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _error_page(request: Request, exc: StarletteHTTPException) -> Response:
        # The JSON API (and htmx fragments) keep FastAPI's JSON errors; pages get an HTML one.
        if request.url.path.startswith("/api/") or is_htmx(request):
            return await http_exception_handler(request, exc)
        return await run_in_threadpool(render_error, request, exc.status_code, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request_page(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/") or is_htmx(request):
            return await request_validation_exception_handler(request, exc)
        problems = [
            f"{e['loc'][-1] if e.get('loc') else 'request'}: {plain_message(e)}"
            for e in exc.errors()
        ]
        detail = "Some values of this request are not valid. " + " ".join(problems)
        return await run_in_threadpool(render_error, request, 422, detail)

    @app.exception_handler(Exception)
    async def _internal_error(request: Request, exc: Exception) -> Response:
        # An error no route expected: logged whole with an id the user can quote, shown
        # without its details. (Starlette then re-raises it for the server's own log.)
        error_id = secrets.token_hex(8)
        log.error(
            "internal error %s on %s %s",
            error_id,
            request.method,
            request.url.path,
            exc_info=exc,
        )
        detail = f"devpush hit an internal error (id {error_id}); the server log has the details."
        if request.url.path.startswith("/api/") or is_htmx(request):
            return JSONResponse({"detail": detail, "error_id": error_id}, status_code=500)
        try:
            return await run_in_threadpool(render_error, request, 500, detail)
        except Exception:  # the page itself failed (the database is down, say)
            log.exception("internal error %s: the error page failed too", error_id)
            return PlainTextResponse(detail, status_code=500)

    return app


@lru_cache
def _default_app() -> FastAPI:
    return create_app()


def __getattr__(name: str) -> FastAPI:
    # ``uvicorn devpush.main:app`` reads the settings when it loads the app, not at import.
    if name == "app":
        return _default_app()
    raise AttributeError(name)
