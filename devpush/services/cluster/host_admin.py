"""An admin's changes to a swarm host: its labels (placement reads them) and availability.

A host is named by its node id, a unique prefix of it, or its host name. Labels are
``key=value`` pairs on the node (``docker node update --label-add``); availability is
``active`` (takes new runners), ``pause`` (keeps its runners, takes no new one) or
``drain`` (Swarm moves its service tasks to other hosts and sends it none). Each change
is one node update with the version just read, retried once if another update came first.

A drain given the worker's queue moves the host's runners with the usual zero-failure
switch instead of letting Swarm move them (a moved task has a new address the proxy
does not know yet): a host that runs runners is paused (it keeps them, takes no new
one) and the drain job redeploys each elsewhere, switches its URLs, stops the old one,
and only then drains the host (``devpush.workers.tasks.drain``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final, Literal, get_args

import docker
from docker.errors import APIError

from devpush.core.config import Settings
from devpush.core.errors import Conflict, InvalidInput, NotFound
from devpush.services.cluster.nodes import Host, manager_client, read_hosts
from devpush.services.jobs import HostDrainJobs

Availability = Literal["active", "pause", "drain"]
AVAILABILITIES: Final[tuple[str, ...]] = get_args(Availability)
#: Docker's own label keys look like this too: letters, digits, dots, dashes, underscores.
_LABEL_KEY: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?")
_LABEL_VALUE_MAX: Final = 255
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
#: The refusal a user who is no admin reads when changing a host.
ADMINS_ONLY_CHANGE: Final = "only a server administrator can change hosts"


class HostNotFound(NotFound):
    """No node has that id, id prefix or host name."""


class BadHostChange(InvalidInput):
    """A label or availability the swarm cannot take; the message says which."""


class LastActiveHost(Conflict):
    """Draining or pausing it would leave no host for new runners."""


class LabelNotOnHost(NotFound):
    """A label to remove that the host does not have."""


def check_label_key(key: str) -> str:
    if not _LABEL_KEY.fullmatch(key):
        raise BadHostChange(
            f"label key {key[:60]!r} must be 1-128 letters, digits, '.', '-' or '_', "
            "starting and ending with a letter or digit"
        )
    return key


def check_label_value(key: str, value: str) -> str:
    if not value or len(value) > _LABEL_VALUE_MAX or _CONTROL.search(value):
        raise BadHostChange(
            f"the value of label {key!r} must be 1-{_LABEL_VALUE_MAX} characters "
            "without control characters"
        )
    return value


def parse_label(text: str) -> tuple[str, str]:
    """``zone=eu`` → ``("zone", "eu")``, checked."""
    key, equals, value = text.partition("=")
    if not equals:
        raise BadHostChange(f"a label is key=value, like zone=eu (got {text[:60]!r})")
    key = check_label_key(key.strip())
    return key, check_label_value(key, value.strip())


@dataclass(frozen=True)
class HostChange:
    """What to change on one host; an empty change reads the host back unchanged."""

    #: Labels to add or overwrite.
    set_labels: Mapping[str, str] = field(default_factory=dict)
    #: Label keys to remove (each must be on the host).
    remove_labels: tuple[str, ...] = ()
    availability: Availability | None = None

    def checked(self) -> HostChange:
        for key, value in self.set_labels.items():
            check_label_value(check_label_key(key), value)
        for key in self.remove_labels:
            check_label_key(key)
            if key in self.set_labels:
                raise BadHostChange(f"label {key!r} is both set and removed")
        if self.availability is not None and self.availability not in AVAILABILITIES:
            raise BadHostChange(
                f"availability must be one of {', '.join(AVAILABILITIES)} "
                f"(got {str(self.availability)[:20]!r})"
            )
        return self


def find_host(hosts: list[Host], ref: str) -> Host:
    """The host whose id, unique id prefix or host name is ``ref``."""
    ref = ref.strip()
    exact = [host for host in hosts if ref in (host.id, host.hostname)]
    if len(exact) == 1:
        return exact[0]
    prefixed = [host for host in hosts if ref and host.id.startswith(ref)]
    if len(exact) > 1 or len(prefixed) > 1:
        raise BadHostChange(f"{ref[:64]!r} names several hosts: give the node id")
    if prefixed:
        return prefixed[0]
    raise HostNotFound(f"no host {ref[:64]!r} in the swarm (see the host list)")


def _refuse_last_active(hosts: list[Host], target: Host, availability: str) -> None:
    if availability == "active" or target.availability != "active":
        return
    others = [h for h in hosts if h.id != target.id and h.availability == "active"]
    if not any(h.state == "ready" for h in others):
        raise LastActiveHost(
            f"{target.hostname or target.id} is the last active host: activate another "
            f"before you {'drain' if availability == 'drain' else 'pause'} it"
        )


def _update(client: docker.DockerClient, target: Host, change: HostChange) -> None:
    node = client.api.inspect_node(target.id)
    spec = dict(node.get("Spec") or {})
    labels = dict(spec.get("Labels") or {})
    for key in change.remove_labels:
        if key not in labels:
            raise LabelNotOnHost(f"{target.hostname or target.id} has no label {key!r}")
        del labels[key]
    labels.update(change.set_labels)
    spec["Labels"] = labels
    if change.availability is not None:
        spec["Availability"] = change.availability
    client.api.update_node(target.id, int(node["Version"]["Index"]), spec)


def staged_change(target: Host, change: HostChange, drains: HostDrainJobs | None) -> HostChange:
    """The change to make now: a drain of a host with runners pauses it first (the drain
    job sets ``drain`` once they moved); anything else as asked."""
    if drains is None or change.availability != "drain" or target.availability == "drain":
        return change
    if target.runners == 0:
        return change
    return replace(change, availability="pause")


def change_host(
    settings: Settings, ref: str, change: HostChange, *, drains: HostDrainJobs | None = None
) -> Host:
    """Apply ``change`` to the host ``ref`` names; the host as it is afterwards.

    ``drains``: the worker's queue; with it, draining a host that runs runners pauses it
    and enqueues the drain job (the host shows ``pause`` until its runners moved)."""
    change = change.checked()
    with manager_client(settings) as client:
        target = find_host(read_hosts(client), ref)
        for attempt in (1, 2):
            hosts = read_hosts(client)
            target = find_host(hosts, target.id)
            if change.availability is not None:
                _refuse_last_active(hosts, target, change.availability)
            staged = staged_change(target, change, drains)
            try:
                _update(client, target, staged)
                break
            except APIError as exc:
                # Another update moved the node's version on: read it again, once.
                if attempt == 2 or "update out of sequence" not in str(exc.explanation):
                    raise
        if drains is not None and staged.availability != change.availability:
            drains.enqueue_drain(target.id)
        return find_host(read_hosts(client), target.id)
