"""API tokens in the web app: create (shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import Response

from devpush.services import tokens as token_service
from devpush.web.forms import TokenNameField
from devpush.web.pages import Page, PageDep
from devpush.web.rendering import redirect, render

router = APIRouter(tags=["tokens"])


def _tokens_page(page: Page, *, status_code: int = 200, **extra: object) -> Response:
    tokens = token_service.list_tokens(page.session, user_id=page.ctx.user.id)
    return render(
        page.request,
        "tokens/pages/index.html",
        {"tokens": tokens, **extra},
        status_code=status_code,
    )


@router.get("/settings/tokens")
def list_tokens(page: PageDep) -> Response:
    return _tokens_page(page)


@router.post("/settings/tokens")
def create_token(page: PageDep, name: TokenNameField = "") -> Response:
    try:
        token, plaintext = token_service.create_token(page.session, user=page.ctx.user, name=name)
    except ValueError as exc:
        return _tokens_page(page, error=str(exc), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    # Shown once, in this response only; the database keeps its hash.
    return _tokens_page(page, new_token=plaintext, new_token_name=token.name)


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(page: PageDep, token_id: int) -> Response:
    if not token_service.revoke_token(page.session, user_id=page.ctx.user.id, token_id=token_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "token not found")
    return redirect(page.request, "/settings/tokens")
