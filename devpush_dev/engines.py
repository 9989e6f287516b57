"""Extra Docker engines in network namespaces of their own, joined into one Swarm.

Stands for several servers on one machine (issue #22): each engine is a ``dockerd``
started with ``nsenter --net=<namespace>`` (not ``ip netns exec``, which remounts
``/sys`` and hides the cgroup mounts), with its own data root, exec root, socket, bridge
subnet and key (``deprecated-key-path``: two engines with one key get one node ID). The
namespaces hang on a host bridge through veth pairs, with addresses chosen here.

Each engine's data root stays under ``cache_dir()/swarm`` between runs so the images
loaded into it are not loaded again (a load is skipped when the image id is there);
everything else (the swarm, the namespaces, the bridge, the exec roots) is removed by
:meth:`Swarm.stop`, pass or fail. Needs root, ``ip``, ``nsenter``, ``iptables`` and
``dockerd``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import IO, Final

from devpush_dev.binaries import cache_dir
from devpush_dev.processes import Child, ProcessError, Stoppable, start

#: The host bridge's subnet: the bridge takes .1, node N takes .10+N.
SWARM_SUBNET: Final = IPv4Network("10.230.0.0/24")
#: Each engine's docker0 (--bip): node N gets 10.231.N.1/24, apart from the host's pools.
BIP_TEMPLATE: Final = "10.231.{n}.1/24"
#: Seconds an engine has to answer on its socket.
ENGINE_READY_SECONDS: Final = 60.0
_TOOLS: Final = ("ip", "nsenter", "unshare", "iptables", "dockerd", "docker")


def _need_tools() -> None:
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        raise ProcessError(
            f"the swarm engines need {', '.join(missing)} on PATH "
            "(Debian: iproute2, util-linux, iptables, docker.io)"
        )
    if os.geteuid() != 0:
        raise ProcessError("the swarm engines need root (network namespaces, dockerd)")


def _run(argv: Sequence[str], *, check: bool = True, stdin: IO[bytes] | None = None) -> str:
    done = subprocess.run(list(argv), capture_output=True, check=False, stdin=stdin)
    if check and done.returncode != 0:
        raise ProcessError(
            f"{' '.join(argv)} failed ({done.returncode}): "
            f"{done.stderr.decode(errors='replace').strip()}"
        )
    return done.stdout.decode(errors="replace").strip()


@dataclass
class Engine:
    """One dockerd in its own network namespace."""

    index: int
    namespace: str
    address: IPv4Address
    socket: Path
    data_root: Path
    exec_root: Path
    child: Child | None = None
    node_id: str = ""

    @property
    def hostname(self) -> str:
        return f"devpush-node-{self.index}"

    @property
    def host(self) -> str:
        """The engine's ``DOCKER_HOST``."""
        return f"unix://{self.socket}"

    def docker(self, *args: str, check: bool = True, stdin: IO[bytes] | None = None) -> str:
        """``docker -H <this engine> args…``: its stdout."""
        return _run(["docker", "-H", self.host, *args], check=check, stdin=stdin)


@dataclass
class Swarm(Stoppable):
    """Engines in namespaces on one host bridge; node 1 is the swarm's manager."""

    token: str
    state_dir: Path
    engines: list[Engine] = field(default_factory=list)
    bridge: str = ""
    _locks: list[IO[str]] = field(default_factory=list)

    @property
    def manager(self) -> Engine:
        return self.engines[0]

    @property
    def gateway(self) -> str:
        """The host's address on the bridge: what the nodes' tasks reach the host by."""
        return str(next(SWARM_SUBNET.hosts()))

    def load_image(self, image: str) -> None:
        """Copy ``image`` from the host engine into every engine, unless its id is there."""
        wanted = _run(["docker", "image", "inspect", "--format", "{{.Id}}", image])
        for engine in self.engines:
            have = engine.docker("image", "inspect", "--format", "{{.Id}}", image, check=False)
            if have == wanted:
                continue
            with tempfile.TemporaryFile() as archive:
                saved = subprocess.run(["docker", "save", image], stdout=archive, check=False)
                if saved.returncode != 0:
                    raise ProcessError(f"docker save {image} failed ({saved.returncode})")
                archive.seek(0)
                engine.docker("load", "--quiet", stdin=archive)

    def stop_engine(self, engine: Engine) -> None:
        """Stop one node's dockerd, as a host that goes away; its namespace, data root
        and swarm membership stay, so :meth:`start_engine` brings it back."""
        if engine.child is not None:
            engine.child.stop(timeout=30)

    def start_engine(self, engine: Engine, *, pulls: bool = False) -> None:
        """Start a stopped node's dockerd again: it rejoins the swarm from its data root.

        ``pulls``: its tasks' images are pulled first (from the tests' registry; a loaded
        image's pull fails after a DNS timeout, ~5-20 s per task, then the task runs it).
        """
        _start_engine(self, engine, pulls=pulls)

    def wait_ready(self, engine: Engine, *, timeout: float = 90.0) -> None:
        """Until the manager sees the node ready (after :meth:`start_engine`)."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.manager.docker(
                "node", "inspect", "--format", "{{.Status.State}}", engine.node_id, check=False
            )
            if state == "ready":
                return
            if time.monotonic() > deadline:
                raise ProcessError(f"node {engine.hostname} is not ready after {timeout:.0f} s")
            time.sleep(0.5)

    def stop(self) -> None:
        """Leave the swarm, stop the engines, delete namespaces, bridge and run dirs."""
        for engine in reversed(self.engines):
            if engine.child is not None and engine.child.running():
                engine.docker("swarm", "leave", "--force", check=False)
                # Services' containers go with the swarm; plain ones the tests made, here.
                ids = engine.docker("ps", "-aq", check=False).split()
                if ids:
                    engine.docker("rm", "-f", *ids, check=False)
                engine.child.stop(timeout=30)
            _run(["ip", "netns", "delete", engine.namespace], check=False)
            shutil.rmtree(engine.exec_root, ignore_errors=True)
            engine.socket.unlink(missing_ok=True)
        if self.bridge:
            _forward_rule("-D", self.bridge)
            _run(["ip", "link", "delete", self.bridge], check=False)
        for lock in self._locks:
            lock.close()
        self._locks.clear()


def _forward_rule(action: str, bridge: str) -> None:
    # The host engine sets FORWARD's policy to DROP, and with br_netfilter bridged frames
    # pass through it: let the nodes talk to each other (gossip, VXLAN, the manager port).
    _run(
        ["iptables", action, "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"],
        check=action == "-I",
    )


def _lock(path: Path) -> IO[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise ProcessError(f"{path.parent} is in use by another test session") from exc
    return handle


def _wait_engine(engine: Engine) -> None:
    assert engine.child is not None
    deadline = time.monotonic() + ENGINE_READY_SECONDS
    while True:
        if not engine.child.running():
            raise ProcessError(
                f"dockerd in {engine.namespace} exited ({engine.child.process.returncode}); "
                f"log {engine.child.log_path}:\n{engine.child.log_tail()}"
            )
        if engine.docker("version", "--format", "{{.Server.Version}}", check=False):
            return
        if time.monotonic() >= deadline:
            raise ProcessError(
                f"dockerd in {engine.namespace} did not answer on {engine.socket} within "
                f"{ENGINE_READY_SECONDS:.0f}s; log {engine.child.log_path}:\n"
                f"{engine.child.log_tail()}"
            )
        time.sleep(0.3)


def _plumb(swarm: Swarm, engine: Engine) -> None:
    """The namespace, its veth into the bridge, its address and default route."""
    host_end = f"{swarm.bridge}h{engine.index}"
    _run(["ip", "netns", "add", engine.namespace])
    _run(["ip", "link", "add", host_end, "type", "veth", "peer", "name", "eth0",
          "netns", engine.namespace])  # fmt: skip
    _run(["ip", "link", "set", host_end, "master", swarm.bridge, "up"])
    inside = ["ip", "-n", engine.namespace]
    _run([*inside, "link", "set", "lo", "up"])
    _run([*inside, "addr", "add", f"{engine.address}/{SWARM_SUBNET.prefixlen}", "dev", "eth0"])
    _run([*inside, "link", "set", "eth0", "up"])
    gateway = next(SWARM_SUBNET.hosts())
    _run([*inside, "route", "add", "default", "via", str(gateway)])


def _start_engine(swarm: Swarm, engine: Engine, *, pulls: bool = False) -> None:
    node_dir = engine.data_root.parent
    config = node_dir / "daemon.json"
    config.write_text(
        json.dumps(
            {
                "deprecated-key-path": str(node_dir / "key.json"),
                "bip": BIP_TEMPLATE.format(n=engine.index),
                "log-driver": "json-file",
                # The tests' registry (devpush_dev/registry.py) serves plain HTTP on the
                # bridge's address: the nodes pull Dockerfile builds from it.
                "insecure-registries": [str(SWARM_SUBNET)],
            }
        )
    )
    engine.exec_root.mkdir(parents=True, exist_ok=True)
    engine.child = start(
        f"dockerd-{engine.index}",
        [
            "nsenter",
            f"--net=/run/netns/{engine.namespace}",
            "--",
            # Its own host name too, as a server has: the node list tells them apart.
            "unshare",
            "--uts",
            "--",
            "sh",
            "-c",
            'hostname "$0" && exec "$@"',
            engine.hostname,
            "dockerd",
            "--config-file",
            str(config),
            "--data-root",
            str(engine.data_root),
            "--exec-root",
            str(engine.exec_root),
            "--pidfile",
            str(engine.exec_root / "dockerd.pid"),
            "-H",
            engine.host,
        ],
        log_path=swarm.state_dir / f"dockerd-{engine.index}.log",
        # A task's image is loaded on every node, never pulled: without this each task
        # first tries a pull, which waits ~20 s for a registry that is not there. With it
        # a node pulls nothing, not even a build from the registry: ``pulls`` leaves it out.
        env={} if pulls else {"DOCKER_SERVICE_PREFER_OFFLINE_IMAGE": "1"},
    )
    _wait_engine(engine)


def _sweep_stale() -> None:
    """Remove what a session that was killed left: its engines (by their pid files), its
    namespaces and its bridge. Called with every node's lock held, so none is in use."""
    for pidfile in Path(tempfile.gettempdir()).glob("devpush-swarm-*/exec*/dockerd.pid"):
        with contextlib.suppress(ValueError, OSError):
            pid = int(pidfile.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                os.kill(pid, 0)  # raises once it is gone
                time.sleep(0.2)
    for namespace in _run(["ip", "netns", "list"], check=False).splitlines():
        name = namespace.split()[0] if namespace.strip() else ""
        if name.startswith("devpush-swarm-"):
            _run(["ip", "netns", "delete", name], check=False)
    for line in _run(["ip", "-o", "link", "show", "type", "bridge"], check=False).splitlines():
        name = line.split(":")[1].strip() if line.count(":") >= 2 else ""
        if re.fullmatch(r"dps[0-9a-f]{6}", name):
            _forward_rule("-D", name)
            _run(["ip", "link", "delete", name], check=False)
    for run_dir in Path(tempfile.gettempdir()).glob("devpush-swarm-*"):
        shutil.rmtree(run_dir, ignore_errors=True)


def start_swarm(nodes: int = 2, *, state_dir: Path | None = None) -> Swarm:
    """Make ``nodes`` engines in namespaces, init a swarm on the first, join the others."""
    _need_tools()
    token = os.urandom(3).hex()
    root = state_dir or cache_dir() / "swarm"
    swarm = Swarm(token=token, state_dir=Path(), bridge="")
    try:
        swarm._locks.extend(_lock(root / f"node{i}" / "lock") for i in range(1, nodes + 1))
        _sweep_stale()
        run_dir = Path(tempfile.mkdtemp(prefix=f"devpush-swarm-{token}-"))
        swarm.state_dir, swarm.bridge = run_dir, f"dps{token}"
        gateway = next(SWARM_SUBNET.hosts())
        _run(["ip", "link", "add", swarm.bridge, "type", "bridge"])
        _run(["ip", "addr", "add", f"{gateway}/{SWARM_SUBNET.prefixlen}", "dev", swarm.bridge])
        _run(["ip", "link", "set", swarm.bridge, "up"])
        _forward_rule("-I", swarm.bridge)
        for index in range(1, nodes + 1):
            node_dir = root / f"node{index}"
            engine = Engine(
                index=index,
                namespace=f"devpush-swarm-{token}-{index}",
                address=SWARM_SUBNET.network_address + 10 + index,
                socket=run_dir / f"node{index}.sock",
                data_root=node_dir / "data",
                exec_root=run_dir / f"exec{index}",
            )
            swarm.engines.append(engine)
            _plumb(swarm, engine)
            _start_engine(swarm, engine)
            # A data root kept from a run that died keeps its swarm state: start clean.
            engine.docker("swarm", "leave", "--force", check=False)
        manager = swarm.manager
        manager.docker("swarm", "init", "--advertise-addr", str(manager.address))
        join_token = manager.docker("swarm", "join-token", "--quiet", "worker")
        for engine in swarm.engines[1:]:
            engine.docker(
                "swarm", "join", "--token", join_token,
                "--advertise-addr", str(engine.address), f"{manager.address}:2377",
            )  # fmt: skip
        for engine in swarm.engines:
            engine.node_id = engine.docker("info", "--format", "{{.Swarm.NodeID}}")
    except BaseException:
        swarm.stop()
        if swarm.bridge:
            shutil.rmtree(swarm.state_dir, ignore_errors=True)
        raise
    return swarm


@contextmanager
def running_swarm(nodes: int = 2, *, images: Sequence[str] = ()) -> Iterator[Swarm]:
    """A swarm of ``nodes`` engines with ``images`` loaded, torn down after."""
    swarm = start_swarm(nodes)
    try:
        for image in images:
            swarm.load_image(image)
        yield swarm
    finally:
        swarm.stop()
        shutil.rmtree(swarm.state_dir, ignore_errors=True)
