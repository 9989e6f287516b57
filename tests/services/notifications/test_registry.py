"""Every notification kind has one sender, and every forge one module (the registries)."""

from __future__ import annotations

from devpush.models import NotificationKind
from devpush.services.notifications.delivery import SENDERS
from devpush.services.webhooks.registry import FORGES


def test_every_notification_kind_has_a_sender() -> None:
    assert set(SENDERS) == set(NotificationKind)


def test_every_forge_is_registered_once_by_its_name() -> None:
    assert {name: forge.name for name, forge in FORGES.items()} == {n: n for n in FORGES}
    assert {"github", "gitlab", "gitea", "forgejo", "generic"} <= set(FORGES)
