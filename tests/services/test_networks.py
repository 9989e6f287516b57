"""Project networks: subnet allocation (pure), names, and which network a runner is on."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from ipaddress import IPv4Network

import docker
import pytest
from docker.models.containers import Container
from docker.models.networks import Network
from pydantic import ValidationError

from devpush.core.config import Settings
from devpush.services import proxy_config
from devpush.services.networks import (
    NetworkError,
    attach_proxy,
    ensure_project_network,
    free_subnet,
    network_of,
    project_network,
    rejoin_proxy,
    remove_orphan_networks,
    subnets,
)
from devpush_dev.runners import BUSYBOX_IMAGE

POOL = IPv4Network("10.201.0.0/16")


def test_the_first_subnet_of_an_empty_pool() -> None:
    assert free_subnet(POOL, 26, []) == IPv4Network("10.201.0.0/26")


def test_a_taken_subnet_is_skipped_and_a_freed_one_reused() -> None:
    taken = [IPv4Network("10.201.0.0/26"), IPv4Network("10.201.0.64/26")]
    assert free_subnet(POOL, 26, taken) == IPv4Network("10.201.0.128/26")
    # The first one freed (its project deleted): handed out again before the rest.
    assert free_subnet(POOL, 26, taken[1:]) == IPv4Network("10.201.0.0/26")


def test_networks_outside_the_pool_do_not_count_and_overlapping_ones_do() -> None:
    # Docker's own bridges (172.17.0.0/16 …) are elsewhere; someone else's /24 inside
    # the pool blocks the four /26 it covers; a wider network over the pool blocks it all.
    assert free_subnet(POOL, 26, [IPv4Network("172.17.0.0/16")]) == IPv4Network("10.201.0.0/26")
    assert free_subnet(POOL, 26, [IPv4Network("10.201.0.0/24")]) == IPv4Network("10.201.1.0/26")
    assert free_subnet(POOL, 26, [IPv4Network("10.0.0.0/8")]) is None


def test_a_full_pool_has_no_free_subnet() -> None:
    small = IPv4Network("10.201.0.0/24")
    every = list(subnets(small, 26))
    assert len(every) == 4
    assert free_subnet(small, 26, every) is None
    assert free_subnet(small, 26, every[:3]) == every[3]


def test_the_default_pool_holds_a_thousand_projects() -> None:
    settings = Settings()
    every = list(subnets(settings.runner_subnet_pool, settings.runner_subnet_prefix))
    assert len(every) == 1024
    assert every[0].num_addresses - 3 == 61  # network, gateway, broadcast


def test_subnets_wider_than_the_pool_are_refused() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        list(subnets(POOL, 12))
    with pytest.raises(ValidationError, match="wider than"):
        Settings(runner_subnet_pool=IPv4Network("10.201.0.0/24"), runner_subnet_prefix=20)


def test_the_pool_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVPUSH_RUNNER_SUBNET_POOL", "10.50.0.0/20")
    monkeypatch.setenv("DEVPUSH_RUNNER_SUBNET_PREFIX", "28")
    settings = Settings()
    assert (settings.runner_subnet_pool, settings.runner_subnet_prefix) == (
        IPv4Network("10.50.0.0/20"),
        28,
    )
    monkeypatch.setenv("DEVPUSH_RUNNER_SUBNET_POOL", "not a network")
    with pytest.raises(ValidationError):
        Settings()


def _on(*names: str) -> Container:
    return Container(attrs={"NetworkSettings": {"Networks": {n: {} for n in names}}})


def test_a_runner_is_on_its_projects_network_or_on_the_old_shared_one() -> None:
    settings = Settings(runner_network="devpush_runner")
    assert project_network(settings, "p1") == "devpush_runner-p1"
    assert network_of(_on("devpush_runner-p1"), settings, "p1") == "devpush_runner-p1"
    # Deployed before projects had their own network: it stays there until redeployed.
    assert network_of(_on("devpush_runner"), settings, "p1") == "devpush_runner"
    # Not started yet (no network in its state): its project's.
    assert network_of(_on(), settings, "p1") == "devpush_runner-p1"


def test_the_probe_server_exists_only_for_a_worker_that_probes_through_the_proxy() -> None:
    compose = Settings(
        proxy_admin_url="unix:///run/devpush-proxy/admin.sock", runner_address="proxy"
    )
    assert proxy_config.probe_socket(compose) == "/run/devpush-proxy/probe.sock"
    server = proxy_config.build_config(compose)["apps"]["http"]["servers"]["devpush-probe"]
    assert server["listen"] == ["unix//run/devpush-proxy/probe.sock"]
    assert "devpush-probe" not in proxy_config.build_config(Settings())["apps"]["http"]["servers"]
    assert proxy_config.probe_socket(Settings(runner_address="proxy")) is None


@dataclass(frozen=True)
class Install:
    """An install of its own on the real engine: its settings, and what it made there."""

    client: docker.DockerClient
    settings: Settings

    def ensure(self, project_id: str) -> str:
        """The project's network, made on first use (``ensure_project_network``)."""
        return ensure_project_network(self.client, self.settings, project_id)

    def networks(self) -> list[Network]:
        """The runner networks it made (named after its ``runner_network``)."""
        return self.client.networks.list(names=[self.settings.runner_network])

    def proxy(self) -> Container:
        """Its stand-in proxy container, as the engine sees it now."""
        return self.client.containers.get(self.settings.proxy_container)


@pytest.fixture
def install(docker_client: docker.DockerClient) -> Iterator[Install]:
    """An install on the real engine (a name prefix, a small pool, a stand-in proxy
    container); whatever it made is removed afterwards."""
    run = uuid.uuid4().hex[:8]
    proxy = docker_client.containers.run(
        BUSYBOX_IMAGE, ["sleep", "300"], name=f"test-proxy-{run}", detach=True
    )
    settings = Settings(
        runner_network=f"test-net-{run}",
        runner_subnet_pool=IPv4Network("10.203.0.0/16"),
        runner_subnet_prefix=28,
        proxy_container=proxy.name,
    )
    made = Install(docker_client, settings)
    try:
        yield made
    finally:
        proxy.remove(force=True)
        for network in made.networks():
            with contextlib.suppress(docker.errors.NotFound):
                network.remove()


@pytest.mark.docker
def test_networks_on_the_engine_created_once_joined_by_the_proxy_removed_when_orphaned(
    install: Install,
) -> None:
    first = install.ensure("p1")
    assert install.ensure("p1") == first  # idempotent
    second = install.ensure("p2")
    subnets_of = {
        n.name: IPv4Network(n.attrs["IPAM"]["Config"][0]["Subnet"]) for n in install.networks()
    }
    # Two distinct subnets of the pool's size, and only these two networks.
    assert set(subnets_of) == {first, second}
    pool = install.settings.runner_subnet_pool
    assert all(s.prefixlen == 28 and s.subnet_of(pool) for s in subnets_of.values())
    assert subnets_of[first] != subnets_of[second]
    attach_proxy(install.client, install.settings, [first, second])
    attach_proxy(install.client, install.settings, [first])  # already on it: nothing to do
    assert {first, second} <= set(install.proxy().attrs["NetworkSettings"]["Networks"])
    # p2 deleted: its network goes (the proxy leaves it first); p1's stays.
    assert remove_orphan_networks(install.client, install.settings, {"p1"}) == [second]
    assert [n.name for n in install.networks()] == [first]
    assert second not in install.proxy().attrs["NetworkSettings"]["Networks"]


@pytest.mark.docker
def test_the_proxy_rejoins_runner_networks_only(install: Install) -> None:
    network = install.ensure("p1")
    labels = {"devpush.role": "runner", "devpush.deployment_id": f"d-{uuid.uuid4().hex[:8]}"}
    # A runner on its project's network, and a build log container on none (the worker's).
    started = [
        install.client.containers.run(
            BUSYBOX_IMAGE, ["sleep", "60"], detach=True, labels=labels, network=network
        ),
        install.client.containers.run(
            BUSYBOX_IMAGE, ["sleep", "60"], detach=True, labels=labels, network_mode="none"
        ),
    ]
    try:
        rejoin_proxy(install.client, install.settings)
        joined = set(install.proxy().attrs["NetworkSettings"]["Networks"])
        assert network in joined and "none" not in joined
    finally:
        for container in started:
            container.remove(force=True)
        with contextlib.suppress(docker.errors.APIError):
            install.client.api.disconnect_container_from_network(
                install.proxy().id, network, force=True
            )


@pytest.mark.docker
def test_a_full_pool_is_a_clear_error(install: Install) -> None:
    # A pool of one /28, taken by p1: p2 gets a message naming the setting.
    small = replace(
        install,
        settings=install.settings.model_copy(
            update={"runner_subnet_pool": IPv4Network("10.203.255.240/28")}
        ),
    )
    small.ensure("p1")
    with pytest.raises(NetworkError, match="DEVPUSH_RUNNER_SUBNET_POOL"):
        small.ensure("p2")
