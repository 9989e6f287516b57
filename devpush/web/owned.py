"""The rows of a project's settings sections a route acts on: a drain, a channel, a domain.

Each dependency finds the row named in the path inside the project of ``{project_ref}``,
which the caller may see (``WebProject``) or change (``WebOwnerProject``); a row of
another project is 404, as a missing one is. A route takes the row beside its settings
page (``SettingsPageDep``), which resolves the same project (FastAPI does it once).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from devpush.deps import SessionDep, WebOwnerProject, WebProject
from devpush.models import Domain, LogDrain, NotificationChannel
from devpush.services import domains as domain_service
from devpush.services.drains import configure as drain_service
from devpush.services.notifications import channels as channel_service


def _team_drain(drain_id: str, project: WebProject, session: SessionDep) -> LogDrain:
    return drain_service.find_drain(session, project=project, drain_id=drain_id)


def _owner_channel(
    channel_id: str, project: WebOwnerProject, session: SessionDep
) -> NotificationChannel:
    return channel_service.find_channel(session, project=project, channel_id=channel_id)


def _owner_domain(name: str, project: WebOwnerProject, session: SessionDep) -> Domain:
    return domain_service.find_domain(session, project=project, name=name)


#: A drain of a project in the caller's team (drains are for every member).
TeamDrain = Annotated[LogDrain, Depends(_team_drain)]
#: A notification channel of a project the caller owns.
OwnerChannel = Annotated[NotificationChannel, Depends(_owner_channel)]
#: A custom domain of a project the caller owns.
OwnerDomain = Annotated[Domain, Depends(_owner_domain)]
