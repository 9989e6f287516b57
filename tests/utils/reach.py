"""What a runner container can reach: TCP connects made from inside it (``exec_run``).

A connect that succeeds means the runner could talk to that port; a refused one (the
host answers, nothing listens on that address) or one that times out (a firewall
drops it, as Docker does between two bridges) means it cannot. Each attempt waits
two seconds at most.
"""

from __future__ import annotations

from docker.models.containers import Container

#: Runs in the runner image's python: prints how the attempt ended, exits 0 only if connected.
_CONNECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
except OSError as exc:
    print(type(exc).__name__, exc)
    sys.exit(1)
print("connected")
"""


def attempt(container: Container, host: str, port: int) -> tuple[bool, str]:
    """Whether a TCP connect from inside ``container`` to ``host:port`` succeeds, and how
    it ended (``connected``, ``TimeoutError …``, ``ConnectionRefusedError …``)."""
    code, output = container.exec_run(["python3", "-c", _CONNECT, host, str(port)])
    return code == 0, output.decode(errors="replace").strip()


def unreachable(container: Container, targets: dict[str, tuple[str, int]]) -> dict[str, str]:
    """The targets (name → host, port) the container DID reach, with how: empty is right."""
    reached = {}
    for name, (host, port) in targets.items():
        ok, how = attempt(container, host, port)
        if ok:
            reached[name] = f"{host}:{port} {how}"
    return reached


def gateway(container: Container, network: str) -> str:
    """The host's address on ``network`` as the container sees it (its default route)."""
    container.reload()
    found: str = container.attrs["NetworkSettings"]["Networks"][network]["Gateway"]
    return found


def address(container: Container, network: str) -> str:
    container.reload()
    found: str = container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
    return found
