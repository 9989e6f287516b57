"""Tokens for the API: exchange e-mail and password for one (devpush login), list, revoke;
the caller's account and password."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status

from devpush.api.schemas import (
    PasswordChange,
    TeamPublic,
    TokenCreated,
    TokenPublic,
    TokenRequest,
    UserPublic,
)
from devpush.deps import ApiUser, SessionDep, SettingsDep, attempt_login
from devpush.services import tokens as token_service
from devpush.services.teams import teams_for_user
from devpush.services.users import change_password

router = APIRouter(tags=["auth"])


@router.post("/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenCreated)
def create_token(
    body: TokenRequest, session: SessionDep, settings: SettingsDep, request: Request
) -> TokenCreated:
    """Log in with e-mail and password; the answer holds a new bearer token, shown once.

    Failed attempts are limited per account and per address: over the limit the answer
    is 429 with ``Retry-After``, whatever the password.
    """
    user = attempt_login(request, session, settings, email=body.email, password=body.password)
    if user is None:
        session.commit()  # the failure counts even though the request fails
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong e-mail or password")
    token, plaintext = token_service.create_token(session, user=user, name=body.name)
    return TokenCreated(id=token.id, name=token.name, prefix=token.prefix, token=plaintext)


@router.get("/tokens", response_model=list[TokenPublic])
def list_tokens(user: ApiUser, session: SessionDep) -> list[TokenPublic]:
    tokens = token_service.list_tokens(session, user_id=user.id)
    return [TokenPublic.model_validate(t) for t in tokens]


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: int, user: ApiUser, session: SessionDep) -> None:
    if not token_service.revoke_token(session, user_id=user.id, token_id=token_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "token not found")


@router.get("/me", response_model=UserPublic)
def me(user: ApiUser, session: SessionDep) -> UserPublic:
    public = UserPublic.model_validate(user)
    public.teams = [TeamPublic.model_validate(t) for t in teams_for_user(session, user_id=user.id)]
    return public


@router.put("/me/password", status_code=status.HTTP_204_NO_CONTENT)
def set_password(body: PasswordChange, user: ApiUser, session: SessionDep) -> None:
    """Change the password; every web sign-in of the account ends (API tokens stay)."""
    change_password(session, user=user, current=body.current_password, new=body.new_password)
