"""A signed-in page's route takes what it reads as one dependency: ``page: PageDep``.

The request, who asks (``WebContext``: the user and their current team) and the DB session,
for the account pages (API tokens, the team's members). The project settings page has its
own, with the project (``devpush/web/project_settings.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from devpush.deps import SessionDep, WebCtx


@dataclass(frozen=True, slots=True)
class Page:
    """FastAPI fills the fields from the request: a class dependency, ``Depends()``."""

    request: Request
    ctx: WebCtx
    session: SessionDep


PageDep = Annotated[Page, Depends()]
