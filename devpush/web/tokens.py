"""API tokens in the web app: create (shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response

from devpush.deps import SessionDep, WebCtx
from devpush.services import tokens as token_service
from devpush.web.forms import TokenNameField
from devpush.web.rendering import redirect, render

router = APIRouter(tags=["tokens"])
# Routes here repeat their parameter lists on purpose: FastAPI reads each signature
# (dependencies, form fields); the shared work is in devpush/deps.py and the services.


def _page(
    request: Request, ctx: WebCtx, session: SessionDep, *, status_code: int = 200, **extra: object
) -> Response:
    tokens = token_service.list_tokens(session, user_id=ctx.user.id)
    return render(
        request, "tokens/pages/index.html", {"tokens": tokens, **extra}, status_code=status_code
    )


@router.get("/settings/tokens")
def list_tokens(request: Request, ctx: WebCtx, session: SessionDep) -> Response:
    return _page(request, ctx, session)


@router.post("/settings/tokens")
def create_token(
    request: Request,
    ctx: WebCtx,
    session: SessionDep,
    name: TokenNameField = "",
) -> Response:
    try:
        token, plaintext = token_service.create_token(session, user=ctx.user, name=name)
    except ValueError as exc:
        return _page(
            request, ctx, session, error=str(exc), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    # Shown once, in this response only; the database keeps its hash.
    return _page(request, ctx, session, new_token=plaintext, new_token_name=token.name)


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(request: Request, ctx: WebCtx, session: SessionDep, token_id: int) -> Response:
    if not token_service.revoke_token(session, user_id=ctx.user.id, token_id=token_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "token not found")
    return redirect(request, "/settings/tokens")
