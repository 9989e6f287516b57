"""Log in and out of the web app, and change one's password.

A sign-in lives on the server (``devpush.services.sessions``): logging out ends it there,
so a copy of the cookie is refused afterwards. Failed log-ins are rate-limited per
account and per address (``devpush.services.login_limit``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from devpush.core.security import csrf_token_for
from devpush.deps import (
    SESSION_KEY,
    SESSION_TEAM,
    SESSION_USER,
    SessionDep,
    SettingsDep,
    WebCtx,
    attempt_login,
    session_max_age,
)
from devpush.models import User
from devpush.services.login_limit import LoginLimitedError
from devpush.services.sessions import end_session, start_session
from devpush.services.teams import teams_for_user
from devpush.services.users import WrongPasswordError, change_password
from devpush.web.forms import LoginForm, PasswordChangeForm
from devpush.web.rendering import redirect, render

router = APIRouter(tags=["auth"])
# Routes here repeat their parameter lists on purpose: FastAPI reads each signature
# (dependencies, form fields); the shared work is in devpush/deps.py and the services.


@router.get("/login")
def login_page(request: Request) -> Response:
    if isinstance(request.session.get(SESSION_USER), int):
        return redirect(request, "/projects")
    return render(request, "auth/pages/login.html", {"email": ""})


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[LoginForm, Form()],
) -> Response:
    try:
        user = attempt_login(request, session, settings, email=form.email, password=form.password)
    except LoginLimitedError as exc:
        return render(
            request,
            "auth/pages/login.html",
            {"email": form.email, "error": str(exc)},
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        )
    if user is None:
        # The failure is committed with the response (the request's session commits).
        return render(
            request,
            "auth/pages/login.html",
            {"email": form.email, "error": "Wrong e-mail or password."},
            status_code=status.HTTP_400_BAD_REQUEST,
        )
    teams = teams_for_user(session, user_id=user.id)
    # A new session on log-in: nothing from before (fixation, old CSRF token) survives.
    old_key = request.session.get(SESSION_KEY)
    if isinstance(old_key, str):
        end_session(session, key=old_key)
    request.session.clear()
    request.session[SESSION_USER] = user.id
    request.session[SESSION_KEY] = start_session(
        session, user_id=user.id, max_age=session_max_age(settings)
    )
    if teams:
        request.session[SESSION_TEAM] = teams[0].id
    csrf_token_for(request.session)
    return redirect(request, "/projects")


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    key = request.session.get(SESSION_KEY)
    if isinstance(key, str):
        end_session(session, key=key)
    request.session.clear()
    return redirect(request, "/login")


@router.get("/settings/password")
def password_page(request: Request, ctx: WebCtx) -> Response:
    return render(request, "auth/pages/password.html")


@router.post("/settings/password")
def password_change(
    request: Request,
    ctx: WebCtx,
    session: SessionDep,
    form: Annotated[PasswordChangeForm, Form()],
) -> Response:
    key = request.session.get(SESSION_KEY)
    error = _change_refused(
        session, user=ctx.user, form=form, keep_session_key=key if isinstance(key, str) else None
    )
    return render(
        request,
        "auth/pages/password.html",
        {"error": error, "done": error is None},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT if error else status.HTTP_200_OK,
    )


def _change_refused(
    session: Session, *, user: User, form: PasswordChangeForm, keep_session_key: str | None
) -> str | None:
    """Change the password; the page's words for why it was refused, or None once done."""
    if form.new_password != form.confirm_password:
        return "The new passwords differ."
    try:
        change_password(
            session,
            user=user,
            current=form.current_password,
            new=form.new_password,
            keep_session_key=keep_session_key,
        )
    except WrongPasswordError:
        return "The current password is wrong."
    except ValueError as exc:
        return f"{str(exc).capitalize()}."
    return None
