"""One Docker network per project: a project's runners reach each other and the proxy,
never another project's runners or a platform service (docs/network.md).

Docker drops traffic between two user-defined bridges, so a bridge per project keeps
tenants apart. Docker's default address pools hold about 30 such networks: each one
gets its subnet from ``Settings.runner_subnet_pool`` instead (:func:`free_subnet`, pure).
When the proxy runs in a container (``Settings.proxy_container``: Compose), it joins
each project's network before the worker routes to it; the app, the worker and the
stores join none.
"""

from __future__ import annotations

import contextlib
import ipaddress
import threading
from collections.abc import Collection, Iterable, Iterator
from ipaddress import IPv4Network

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container
from docker.models.networks import Network
from docker.types import IPAMConfig, IPAMPool

from devpush.core.config import Settings
from devpush.core.errors import Unavailable
from devpush.core.labels import ROLE_LABEL, RUNNER_ROLE
from devpush.services.project_resources import PROJECT_RESOURCE_LABEL, orphaned

#: The role label of a project's runner network (its project in ``devpush.project_id``).
NETWORK_ROLE = "runner-network"
PROJECT_NETWORK_LABEL = PROJECT_RESOURCE_LABEL

#: Creations that lost a race for a subnet (another worker took it) are tried again.
CREATE_ATTEMPTS = 5

#: One creation at a time in this process: two threads would pick the same free subnet.
_lock = threading.Lock()


class NetworkError(Unavailable):
    """A network could not be created or joined; ``str()`` is fit to show a user."""


def project_network(settings: Settings, project_id: str) -> str:
    """The name of the project's runner network (``devpush_runner-<project id>``)."""
    return f"{settings.runner_network}-{project_id}"


def subnets(pool: IPv4Network, prefix: int) -> Iterator[IPv4Network]:
    """The pool's subnets of length ``prefix``, in address order."""
    if prefix < pool.prefixlen:
        raise ValueError(f"subnets /{prefix} do not fit in the pool {pool}")
    return pool.subnets(new_prefix=prefix)


def free_subnet(pool: IPv4Network, prefix: int, used: Iterable[IPv4Network]) -> IPv4Network | None:
    """The first subnet of the pool that overlaps none of ``used`` (None: the pool is full)."""
    taken = [net for net in used if net.overlaps(pool)]
    for candidate in subnets(pool, prefix):
        if not any(candidate.overlaps(net) for net in taken):
            return candidate
    return None


def used_subnets(client: docker.DockerClient) -> list[IPv4Network]:
    """Every IPv4 subnet a Docker network on this host holds (ours and anyone's)."""
    found = []
    for network in client.networks.list():
        for config in (network.attrs.get("IPAM") or {}).get("Config") or []:
            with contextlib.suppress(ValueError, TypeError):
                subnet = ipaddress.ip_network(config.get("Subnet"), strict=False)
                if isinstance(subnet, IPv4Network):
                    found.append(subnet)
    return found


def _named(client: docker.DockerClient, name: str) -> Network | None:
    # ``names`` filters by substring: keep the exact name only.
    return next((n for n in client.networks.list(names=[name]) if n.name == name), None)


def ensure_project_network(client: docker.DockerClient, settings: Settings, project_id: str) -> str:
    """Create the project's network if missing, on a free subnet of the pool; its name."""
    name = project_network(settings, project_id)
    with _lock:
        for _ in range(CREATE_ATTEMPTS):
            if _named(client, name) is not None:
                return name
            subnet = free_subnet(
                settings.runner_subnet_pool, settings.runner_subnet_prefix, used_subnets(client)
            )
            if subnet is None:
                raise NetworkError(
                    f"no free subnet left in the runner pool {settings.runner_subnet_pool}"
                    f" (/{settings.runner_subnet_prefix} each): widen DEVPUSH_RUNNER_SUBNET_POOL"
                )
            pool = IPAMPool(subnet=str(subnet), gateway=str(next(subnet.hosts())))
            try:
                client.networks.create(
                    name,
                    driver="bridge",
                    ipam=IPAMConfig(pool_configs=[pool]),
                    labels={ROLE_LABEL: NETWORK_ROLE, PROJECT_NETWORK_LABEL: project_id},
                )
            except APIError:
                continue  # another worker took the name or the subnet meanwhile: look again
            return name
    if _named(client, name) is not None:
        return name
    raise NetworkError(f"cannot create the network {name}: Docker refused every free subnet")


def network_of(container: Container, settings: Settings, project_id: str) -> str:
    """The runner network the container is on: its project's, or the shared network of
    runners started before projects had their own (they keep it until redeployed)."""
    attached = container.attrs.get("NetworkSettings", {}).get("Networks") or {}
    own = project_network(settings, project_id)
    if own not in attached and settings.runner_network in attached:
        return settings.runner_network
    return own


def attach_proxy(client: docker.DockerClient, settings: Settings, names: Collection[str]) -> None:
    """Connect the proxy's container to each of ``names`` it is not on yet (nothing to do
    when the proxy runs on the host: it reaches every bridge, as the host does)."""
    if not settings.proxy_container or not names:
        return
    try:
        proxy = client.containers.get(settings.proxy_container)
    except NotFound as exc:
        raise NetworkError(f"the proxy container {settings.proxy_container} is not there") from exc
    joined = proxy.attrs.get("NetworkSettings", {}).get("Networks") or {}
    for name in sorted(set(names) - set(joined)):
        try:
            client.api.connect_container_to_network(proxy.id, name)
        except APIError as exc:
            # Joined meanwhile by another worker thread: fine.
            proxy.reload()
            if name not in (proxy.attrs.get("NetworkSettings", {}).get("Networks") or {}):
                raise NetworkError(
                    f"cannot connect the proxy to {name}: {exc.explanation}"
                ) from exc


def rejoin_proxy(client: docker.DockerClient, settings: Settings) -> None:
    """Connect the proxy to the network of every live runner: a recreated proxy container
    (an update) starts on none of them."""
    if not settings.proxy_container:
        return
    names: set[str] = set()
    live = {"label": [f"{ROLE_LABEL}={RUNNER_ROLE}"], "status": ["running", "created"]}
    for container in client.containers.list(all=True, filters=live):
        names.update(container.attrs.get("NetworkSettings", {}).get("Networks") or {})
    # Only runner networks: a build log container (devpush.services.build_log) is on "none".
    ours = {name for name in names if name.startswith(settings.runner_network)}
    attach_proxy(client, settings, ours)


def remove_orphan_networks(
    client: docker.DockerClient, settings: Settings, live_projects: Collection[str]
) -> list[str]:
    """Remove the networks of projects no longer in ``live_projects``; their names.

    The proxy leaves each first; a network some container still uses stays (for the next
    cleanup).
    """
    removed = []
    ours = project_network(settings, "")
    listed = client.networks.list(filters={"label": f"{ROLE_LABEL}={NETWORK_ROLE}"})
    for network in orphaned(listed, prefix=ours, live_projects=live_projects):
        if settings.proxy_container:
            with contextlib.suppress(APIError):
                client.api.disconnect_container_from_network(
                    settings.proxy_container, network.id, force=True
                )
        try:
            network.remove()
        except NotFound:
            continue
        except APIError:
            continue  # a runner still on it: the next cleanup tries again
        removed.append(network.name)
    return removed
