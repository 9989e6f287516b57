"""The forges by name, and which one sent a call."""

from __future__ import annotations

from devpush.services.webhooks.base import Forge, Headers
from devpush.services.webhooks.generic import Generic
from devpush.services.webhooks.gitea import FORGEJO, GITEA
from devpush.services.webhooks.github import GitHub
from devpush.services.webhooks.gitlab import GitLab

# Asked in this order: Forgejo sends Gitea's headers too, and both send GitHub's.
_DETECTION_ORDER: tuple[Forge, ...] = (FORGEJO, GITEA, GitLab(), GitHub(), Generic())

FORGES: dict[str, Forge] = {forge.name: forge for forge in _DETECTION_ORDER}


def detect_forge(headers: Headers) -> Forge | None:
    """The forge whose headers these are; None when no forge's are there."""
    return next((forge for forge in _DETECTION_ORDER if forge.sent(headers)), None)
