"""The names the resolver gives runners: ``10-0-0-7.runners.devpush.`` is 10.0.0.7.

The name carries the IP, so it resolves as long as anything still dials it: Caddy may
use a cached SRV answer for a runner whose host entries are already gone.
"""

from __future__ import annotations

import ipaddress
from typing import Final

#: The DNS zone of the runners' names in the resolver's answers.
RUNNER_ZONE: Final = "runners.devpush."


def runner_name(address: str) -> str:
    """The name the resolver gives a runner's IP (an SRV target): ``10-0-0-7.runners.devpush.``."""
    return f"{address.replace('.', '-')}.{RUNNER_ZONE}"


def runner_address(name: str) -> str | None:
    """The IPv4 address a :func:`runner_name` stands for (None: not such a name)."""
    label, dot, zone = name.lower().rstrip(".").partition(".")
    if not dot or f"{zone}." != RUNNER_ZONE:
        return None
    try:
        return str(ipaddress.IPv4Address(label.replace("-", ".")))
    except ValueError:
        return None
