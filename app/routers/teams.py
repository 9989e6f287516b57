"""The team switcher: the web app shows one team's projects at a time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import Response

from app.api.deps import SESSION_TEAM, CurrentUser, SessionDep
from app.routers.rendering import redirect
from app.services.teams import member_team

router = APIRouter(tags=["teams"])


@router.post("/teams/switch")
def switch_team(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    team_id: Annotated[str, Form(max_length=32)],
) -> Response:
    team = member_team(session, user_id=user.id, team_id=team_id)
    if team is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "team not found")
    request.session[SESSION_TEAM] = team.id
    return redirect(request, "/projects")
