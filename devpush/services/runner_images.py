"""Runner images this host can start: the ones present in its Docker engine.

Nothing is pulled when a deployment starts on a host without a registry, so offering an
image the engine lacks (``node:22-bookworm-slim`` on the local run) only leads to a failed
deploy. The form offers the engine's images, devpush's runner images first; when the
engine can't be asked (the Compose app has no Docker door), the default runner image only.

Kept builds (``devpush-build/<project>:<deployment>``, for rollback) are never offered nor
accepted: each holds one project's code and variables, and its name another team's ids.
"""

from __future__ import annotations

import logging
from typing import Final

import docker

from devpush.core.config import Settings
from devpush.services.runner import BUILD_REPOSITORY

log = logging.getLogger(__name__)

DEFAULT_RUNNER_IMAGE: Final = "devpush/runner-python:local"
RUNNER_PREFIX: Final = "devpush/runner-"
# An image listing answers in milliseconds; a form must not hang on a stuck engine.
_TIMEOUT_SECONDS: Final = 3


def local_images(settings: Settings) -> list[str] | None:
    """Tags in the engine, runner images first then by name; None if it can't be asked."""
    try:
        client = docker.DockerClient(base_url=settings.docker_host, timeout=_TIMEOUT_SECONDS)
        try:
            tags = {
                tag
                for image in client.images.list()
                for tag in image.tags
                if not tag.startswith(f"{BUILD_REPOSITORY}/")
            }
        finally:
            client.close()
    except Exception as exc:  # an engine that is down, absent or refuses: offer the default
        log.info("cannot list the Docker engine's images: %s", exc)
        return None
    return sorted(tags, key=lambda tag: (not tag.startswith(RUNNER_PREFIX), tag))


def offered_images(settings: Settings) -> list[str]:
    return local_images(settings) or [DEFAULT_RUNNER_IMAGE]


def image_problem(image: str, settings: Settings) -> str | None:
    """Why ``image`` can't run here (the engine lacks it), or None; unknown engine: None."""
    present = local_images(settings)
    if present is None or image in present:
        return None
    return f"{image} is not available on this host; use one of: {', '.join(present) or 'none'}"
