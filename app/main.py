"""The web app: ``create_app(settings)`` builds it; ``app`` is the one uvicorn serves.

The lifespan opens what requests share (DB engine and sessions, the env-var cipher,
the log store and its HTTP client) and closes it on shutdown; nothing is built at import time
except through ``create_app`` itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from app.api.deps import LoginRequiredError, current_user, verify_csrf, web_context
from app.core.config import Settings, get_settings
from app.core.crypto import fernet_for
from app.core.db import create_db_engine, session_factory
from app.routers import include_routers, logs
from app.routers.api.v1 import logs as api_logs
from app.routers.api_docs import mount_api_docs
from app.routers.form_errors import plain_message
from app.routers.rendering import build_templates, is_htmx, render
from app.services.log_store import log_store, open_http_client
from app.workers.queue import DeployQueue, huey_from_url

_APP_DIR = Path(__file__).resolve().parent


def create_app(settings: Settings | None = None, *, queue: DeployQueue | None = None) -> FastAPI:
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
        version="0.1.2",
        lifespan=lifespan,
        docs_url=None,  # served offline by mount_api_docs below
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
    mount_api_docs(app)
    # Log views and the logs API (the log store behind them); GET only, CSRF-checked like the rest.
    app.include_router(logs.router, dependencies=[Depends(verify_csrf)], include_in_schema=False)
    app.include_router(api_logs.router, prefix="/api/v1")

    @app.exception_handler(LoginRequiredError)
    async def _to_login(request: Request, _exc: LoginRequiredError) -> Response:
        target = "/login"
        if is_htmx(request):
            # A redirect inside an htmx swap would render the login page into a fragment.
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _error_page(request: Request, exc: StarletteHTTPException) -> Response:
        # The JSON API (and htmx fragments) keep FastAPI's JSON errors; pages get an HTML one.
        if request.url.path.startswith("/api/") or is_htmx(request):
            return await http_exception_handler(request, exc)
        return await run_in_threadpool(_render_error, request, exc.status_code, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request_page(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/") or is_htmx(request):
            return await request_validation_exception_handler(request, exc)
        problems = [
            f"{e['loc'][-1] if e.get('loc') else 'request'}: {plain_message(e)}"
            for e in exc.errors()
        ]
        detail = "Some values of this request are not valid. " + " ".join(problems)
        return await run_in_threadpool(_render_error, request, 422, detail)

    return app


def _render_error(request: Request, status_code: int, detail: object) -> Response:
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


@lru_cache
def _default_app() -> FastAPI:
    return create_app()


def __getattr__(name: str) -> FastAPI:
    # ``uvicorn app.main:app`` reads the settings when it loads the app, not at import.
    if name == "app":
        return _default_app()
    raise AttributeError(name)
