"""Forges' webhook calls: who sent one, whether its signature holds, what it asks.

One small module per forge (``github``, ``gitlab``, ``gitea`` for Gitea and Forgejo,
``generic`` for devpush's own form); :data:`FORGES` is the registry, keyed by name, and
:func:`detect_forge` picks the sender from the headers. The endpoint's flow (record,
deduplicate, deploy) is ``devpush.services.webhooks.receive``; the types every forge
shares (``Event``, ``Forge``, its errors) are in ``devpush.services.webhooks.base``.
"""

from __future__ import annotations

from devpush.services.webhooks.registry import FORGES, detect_forge

__all__ = ["FORGES", "detect_forge"]
