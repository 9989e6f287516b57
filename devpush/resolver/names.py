"""The names the resolver gives runners: ``10-0-0-7.runners.devpush.`` is 10.0.0.7.

The name carries the IP, so it resolves as long as anything still dials it: Caddy may
use a cached SRV answer for a runner whose host entries are already gone.

A host's SRV answer also names the deployment behind it, in labels before the IP
(:func:`route_name`): Caddy's access log records the upstream it used, and the collector
reads the deployment, environment, project and branch of each request from that name
(``Docker/otelcol/config.yaml``, ``Docker/alloy/config.alloy``). The name comes from the
route that served the request, so a request is labelled with the deployment that
answered it, even while a host moves between deployments.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from dataclasses import dataclass
from typing import Final

#: The DNS zone of the runners' names in the resolver's answers.
RUNNER_ZONE: Final = "runners.devpush."
#: The longest name DNS (and Go's resolver, in Caddy) accepts, without the final dot.
MAX_NAME: Final = 253
#: Base64 characters per branch label (two more wrap it: a label has at most 63).
_BRANCH_CHUNK: Final = 61
#: An id that can be a DNS label as it is (devpush's ids are 32 hex digits).
_ID_LABEL: Final = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True, slots=True)
class RouteLabels:
    """Which deployment a host's runner belongs to: the labels of its request entries."""

    project_id: str
    environment_id: str
    branch: str
    deployment_id: str


def runner_name(address: str) -> str:
    """The name the resolver gives a runner's IP (an SRV target): ``10-0-0-7.runners.devpush.``."""
    return f"{address.replace('.', '-')}.{RUNNER_ZONE}"


def branch_labels(branch: str) -> list[str]:
    """The branch as DNS labels: base64 (``+/`` as ``-_``), each chunk wrapped in ``b…b``.

    A label may neither start nor end with ``-``, hence the wrapping; the branch is padded
    with spaces to whole base64 groups (no ``=``; git refuses spaces in a branch name, so
    the reader trims them). The collector undoes this with its own tools: a regex that
    drops the wrapping, then base64.
    """
    raw = branch.encode()
    raw += b" " * (-len(raw) % 3)
    text = base64.b64encode(raw).decode().replace("+", "-").replace("/", "_")
    return [f"b{text[i : i + _BRANCH_CHUNK]}b" for i in range(0, len(text), _BRANCH_CHUNK)]


def decode_branch(labels: str) -> str:
    """:func:`branch_labels` joined by dots, back to the branch (as the collector reads it)."""
    text = re.sub(r"^b|b\.b|b$", "", labels).replace("-", "+").replace("_", "/")
    return base64.b64decode(text).decode().rstrip(" ")


def route_name(address: str, labels: RouteLabels) -> str:
    """The SRV target for a host served by ``labels``' runner at ``address``:
    ``<branch labels>.<deployment>.<environment>.<project>.10-0-0-7.runners.devpush.``.

    Ids that are not DNS labels (never devpush's own) give the plain :func:`runner_name`:
    the requests are then the platform's. A branch too long for a DNS name is left out
    (its requests are stored without a branch).
    """
    ids = (labels.deployment_id, labels.environment_id, labels.project_id)
    if not all(_ID_LABEL.fullmatch(value) for value in ids):
        return runner_name(address)
    base = ".".join([*ids, runner_name(address)])
    with_branch = ".".join([*branch_labels(labels.branch), base]) if labels.branch else base
    return with_branch if len(with_branch.rstrip(".")) <= MAX_NAME else base


def runner_address(name: str) -> str | None:
    """The IPv4 address a :func:`runner_name` or :func:`route_name` stands for (None: not such
    a name): the label right before the zone."""
    labels = name.lower().rstrip(".").split(".")
    if len(labels) < 3 or ".".join(labels[-2:]) + "." != RUNNER_ZONE:
        return None
    try:
        return str(ipaddress.IPv4Address(labels[-3].replace("-", ".")))
    except ValueError:
        return None
