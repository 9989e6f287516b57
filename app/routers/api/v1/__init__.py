"""The JSON API, version 1: bearer tokens, documented at /api/docs."""

from __future__ import annotations

from fastapi import APIRouter

from app.routers.api.v1 import auth, deployments, project_settings, projects, teams

router = APIRouter(prefix="/api/v1")
for _module in (auth, projects, project_settings, deployments, teams):
    router.include_router(_module.router)
