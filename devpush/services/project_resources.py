"""What a project owns in Docker besides its runners (its runner network, its build cache
volume): the label that names the project, and which of them outlived their project."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import Any, Final, Protocol, TypeVar

from devpush.core.labels import LABEL_PREFIX, PROJECT_LABEL

#: The label that names a network's or a volume's project.
PROJECT_RESOURCE_LABEL: Final = f"{LABEL_PREFIX}{PROJECT_LABEL}"


class _Labelled(Protocol):
    """A network or a volume as the Docker SDK lists it."""

    name: str
    attrs: dict[str, Any]


_R = TypeVar("_R", bound=_Labelled)


def orphaned(
    resources: Iterable[_R], *, prefix: str, live_projects: Collection[str]
) -> Iterator[_R]:
    """The ``resources`` of this install (their name starts with ``prefix``: hosts may run
    several) whose project is not in ``live_projects``."""
    for resource in resources:
        labels = resource.attrs.get("Labels") or {}
        if (
            resource.name.startswith(prefix)
            and labels.get(PROJECT_RESOURCE_LABEL) not in live_projects
        ):
            yield resource
