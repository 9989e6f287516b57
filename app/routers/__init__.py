"""Router registration: the web app (session + CSRF) and the JSON API (bearer tokens)."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from app.api.deps import verify_csrf
from app.routers import auth, deployments, project_settings, projects, teams, tokens
from app.routers.api.v1 import router as api_v1_router


def include_routers(app: FastAPI) -> None:
    # One CSRF check for every unsafe request of the web app; the API uses no cookies.
    csrf = [Depends(verify_csrf)]
    for module in (auth, teams, projects, project_settings, deployments, tokens):
        app.include_router(module.router, dependencies=csrf, include_in_schema=False)
    app.include_router(api_v1_router)
