"""``python -m devpush.resolver.health [HOST:PORT]``: the resolver's health check.

Asks the resolver one SRV question that reads the proxy table and exits 0 when it
answered NOERROR, else 1 with what went wrong. Compose runs it every few seconds in each
resolver's container, so it imports the standard library only (no dnslib, no SQLAlchemy,
no settings): the whole of devpush took about a second and a half of CPU per check.
"""

from __future__ import annotations

import secrets
import socket
import struct
import sys
from typing import Final

#: The name asked about: no route has it, so the answer reads the table.
HEALTH_CHECK_NAME: Final = "health-check.devpush."
#: Where ``python -m devpush.resolver`` answers in Compose.
DEFAULT_ADDRESS: Final = "127.0.0.1:5353"

_SRV: Final = 33
_IN: Final = 1
_RCODES: Final = {1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def question(ident: int, name: str) -> bytes:
    """One DNS query (RFC 1035 4.1): header with recursion desired, one SRV question."""
    header = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    labels = b"".join(
        bytes([len(label)]) + label.encode("ascii") for label in name.rstrip(".").split(".")
    )
    return header + labels + b"\0" + struct.pack("!HH", _SRV, _IN)


def check(host: str, port: int, *, timeout: float = 2.0) -> str | None:
    """Ask the resolver at ``host:port`` (UDP; any address ``0.0.0.0`` is asked on loopback)
    the health question; None when it answered NOERROR, else what went wrong."""
    host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
    ident = secrets.randbits(16)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((host, port))
            sock.send(question(ident, HEALTH_CHECK_NAME))
            reply = sock.recv(4096)
        except OSError as exc:
            return f"no answer from {host}:{port} (udp): {exc}"
    if len(reply) < 12:
        return f"{host}:{port} answered {len(reply)} bytes, not a DNS reply"
    reply_id, flags = struct.unpack("!HH", reply[:4])
    if reply_id != ident or not flags & 0x8000:
        return f"{host}:{port} answered something other than our question"
    rcode = flags & 0x000F
    if rcode:
        return f"{host}:{port} answered {_RCODES.get(rcode, f'rcode {rcode}')}"
    return None


def main(argv: list[str]) -> int:
    address = argv[0] if argv else DEFAULT_ADDRESS
    host, _, port = address.rpartition(":")
    if len(argv) > 1 or not host or not port.isdigit() or not 0 < int(port) < 65536:
        print("usage: python -m devpush.resolver.health [HOST:PORT]", file=sys.stderr)
        return 2
    problem = check(host, int(port))
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
