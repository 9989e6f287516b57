"""The JSON API, version 1: bearer tokens, documented at /api/docs."""

from __future__ import annotations

from fastapi import APIRouter

from app.routers.api.v1 import auth, deployments, projects

router = APIRouter(prefix="/api/v1")
for _module in (auth, projects, deployments):
    router.include_router(_module.router)
