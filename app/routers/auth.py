"""Log in and out of the web app."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import Response

from app.api.deps import SESSION_TEAM, SESSION_USER, SessionDep
from app.core.security import csrf_token_for
from app.routers.rendering import redirect, render
from app.services.teams import teams_for_user
from app.services.users import authenticate

router = APIRouter(tags=["auth"])


@router.get("/login")
def login_page(request: Request) -> Response:
    if isinstance(request.session.get(SESSION_USER), int):
        return redirect(request, "/projects")
    return render(request, "auth/pages/login.html", {"email": ""})


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
) -> Response:
    user = authenticate(session, email=email, password=password)
    if user is None:
        return render(
            request,
            "auth/pages/login.html",
            {"email": email, "error": "Wrong e-mail or password."},
            status_code=status.HTTP_400_BAD_REQUEST,
        )
    teams = teams_for_user(session, user_id=user.id)
    # A new session on log-in: nothing from before (fixation, old CSRF token) survives.
    request.session.clear()
    request.session[SESSION_USER] = user.id
    if teams:
        request.session[SESSION_TEAM] = teams[0].id
    csrf_token_for(request.session)
    return redirect(request, "/projects")


@router.post("/logout")
def logout(request: Request) -> Response:
    request.session.clear()
    return redirect(request, "/login")
