"""Free loopback ports for the children the local run, the tests and the benchmarks start.

The one ``free_port`` of the development package: tests and benchmarks import it.
"""

from __future__ import annotations

import socket
import threading
from typing import Final

#: Tries before giving up: the kernel rarely offers a port already handed out or taken.
_ATTEMPTS: Final = 100

# Ports handed out by this process: the kernel may offer a port again once its probe
# socket is closed, and two starters asking before either child binds would then share it.
_handed_out: set[int] = set()
_lock = threading.Lock()


def _free_for_udp(host: str, port: int) -> bool:
    # The route resolvers answer DNS on UDP and TCP: a port taken for UDP is no good.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` free for TCP and UDP, never handed out before by this process.

    The kernel chooses it (a bind to port 0). The probe socket has ``SO_REUSEADDR``, so
    the child can bind the port at once after the probe closes; the process-wide set
    keeps two callers (threads included) from ever getting the same port.
    """
    with _lock:
        for _ in range(_ATTEMPTS):
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((host, 0))
                port: int = sock.getsockname()[1]
            if port not in _handed_out and _free_for_udp(host, port):
                _handed_out.add(port)
                return port
    raise OSError(f"no free port on {host} after {_ATTEMPTS} tries")
