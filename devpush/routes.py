"""The one router registry: every HTML page (``devpush/web/``), every JSON route (``devpush/api/``).

The web app's routes use the session cookie, so each unsafe request passes one CSRF
check; the API (bearer tokens, no cookies) is served under ``/api/v1`` and documented at
``/api/docs``; what only the reverse proxy asks is under ``/internal/proxy``.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI

from devpush.api import auth as api_auth
from devpush.api import deployments as api_deployments
from devpush.api import domains as api_domains
from devpush.api import drains as api_drains
from devpush.api import git as api_git
from devpush.api import hooks as api_hooks
from devpush.api import hosts as api_hosts
from devpush.api import logs as api_logs
from devpush.api import metrics as api_metrics
from devpush.api import notifications as api_notifications
from devpush.api import project_settings as api_project_settings
from devpush.api import projects as api_projects
from devpush.api import proxy as api_proxy
from devpush.api import rollback as api_rollback
from devpush.api import teams as api_teams
from devpush.api import webhooks as api_webhooks
from devpush.api.docs import mount_api_docs
from devpush.deps import verify_csrf
from devpush.web import (
    auth,
    deployments,
    domains,
    drains,
    git,
    hosts,
    logs,
    metrics,
    notifications,
    project_settings,
    projects,
    request_logs,
    rollback,
    teams,
    tokens,
    webhooks,
)

#: The HTML pages, in the order their paths are matched.
WEB = (
    auth,
    teams,
    projects,
    project_settings,
    git,
    notifications,
    drains,
    domains,
    deployments,
    tokens,
    logs,
    request_logs,
    webhooks,
    rollback,
    metrics,
    hosts,
)
#: The JSON API, version 1.
API = (
    api_auth,
    api_projects,
    api_project_settings,
    api_deployments,
    api_teams,
    api_logs,
    api_webhooks,
    api_hooks,
    api_rollback,
    api_notifications,
    api_git,
    api_drains,
    api_domains,
    api_metrics,
    api_hosts,
)
API_PREFIX = "/api/v1"
#: What only the reverse proxy asks, outside the API.
INTERNAL = (api_proxy,)


def include_routers(app: FastAPI) -> None:
    # One CSRF check for every unsafe request of the web app; the API uses no cookies.
    csrf = [Depends(verify_csrf)]
    for module in WEB:
        app.include_router(module.router, dependencies=csrf, include_in_schema=False)
    for module in API:
        app.include_router(module.router, prefix=API_PREFIX)
    for module in INTERNAL:
        app.include_router(module.router)
    mount_api_docs(app)
