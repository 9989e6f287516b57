"""A signed-in page's route takes what it reads as one dependency: ``page: PageDep``.

The request, who asks (``WebContext``: the user and their current team) and the DB session,
for the account pages (API tokens, the team's members). The project settings page has its
own, with the project (``devpush/web/project_settings.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from devpush.deps import SessionDep, WebContext, WebCtx


@dataclass(frozen=True, slots=True)
class Page:
    request: Request
    ctx: WebContext
    session: Session


def _page(request: Request, ctx: WebCtx, session: SessionDep) -> Page:
    return Page(request, ctx, session)


PageDep = Annotated[Page, Depends(_page)]
