"""An admin's changes to a swarm host, on the real two-node swarm (tests/fixtures/swarm.py)."""

from __future__ import annotations

import dataclasses

import pytest

from devpush.core.config import Settings
from devpush.services.cluster.host_admin import (
    BadHostChange,
    HostChange,
    HostNotFound,
    LabelNotOnHost,
    LastActiveHost,
    change_host,
    find_host,
    parse_label,
    staged_change,
)
from devpush.services.cluster.nodes import Host, SwarmOff, list_hosts
from devpush_dev.engines import Swarm


def _settings(swarm: Swarm) -> Settings:
    return Settings(swarm=True, docker_host=swarm.manager.host)


@pytest.mark.swarm
@pytest.mark.docker
def test_labels_set_and_removed_drain_and_activate(restored_nodes: Swarm) -> None:
    settings = _settings(restored_nodes)
    node_2 = restored_nodes.engines[1]

    host = change_host(settings, node_2.hostname, HostChange(set_labels={"zone": "eu", "ssd": "1"}))
    assert (host.id, host.labels) == (node_2.node_id, {"zone": "eu", "ssd": "1"})

    host = change_host(settings, node_2.node_id[:6], HostChange(remove_labels=("ssd",)))
    assert host.labels == {"zone": "eu"}

    host = change_host(settings, node_2.node_id, HostChange(availability="drain"))
    assert host.availability == "drain"
    # The manager's view agrees (not just our answer).
    assert {h.id: h.availability for h in list_hosts(settings)}[node_2.node_id] == "drain"
    assert node_2.hostname in restored_nodes.manager.docker(
        "node", "ls", "--filter", "node.label=zone=eu", "--format", "{{.Hostname}}"
    )

    host = change_host(settings, node_2.hostname, HostChange(availability="active"))
    assert host.availability == "active" and host.labels == {"zone": "eu"}


@pytest.mark.swarm
@pytest.mark.docker
def test_refusals_name_the_reason(restored_nodes: Swarm) -> None:
    settings = _settings(restored_nodes)
    node_1, node_2 = restored_nodes.engines

    with pytest.raises(HostNotFound, match="no host 'nowhere'"):
        change_host(settings, "nowhere", HostChange(availability="drain"))
    with pytest.raises(LabelNotOnHost, match="has no label 'zone'"):
        change_host(settings, node_2.hostname, HostChange(remove_labels=("zone",)))
    with pytest.raises(BadHostChange, match="label key"):
        change_host(settings, node_2.hostname, HostChange(set_labels={"bad key": "x"}))

    change_host(settings, node_2.hostname, HostChange(availability="drain"))
    with pytest.raises(LastActiveHost, match="devpush-node-1 is the last active host"):
        change_host(settings, node_1.hostname, HostChange(availability="drain"))
    assert {h.id: h.availability for h in list_hosts(settings)}[node_1.node_id] == "active"


def test_swarm_mode_off_changes_nothing() -> None:
    with pytest.raises(SwarmOff, match="DEVPUSH_SWARM=1"):
        change_host(Settings(swarm=False), "any", HostChange(availability="drain"))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("zone", "key=value"),
        ("=eu", "label key"),
        ("zo ne=eu", "label key"),
        ("-zone=eu", "label key"),
        ("zone=", "value of label 'zone'"),
        ("zone=e\nu", "value of label 'zone'"),
        ("zone=" + "x" * 256, "value of label 'zone'"),
    ],
)
def test_bad_labels_are_refused(text: str, reason: str) -> None:
    with pytest.raises(BadHostChange, match=reason):
        parse_label(text)


def test_a_label_parses() -> None:
    assert parse_label(" zone = eu-west ") == ("zone", "eu-west")
    assert parse_label("a.b_c-d=x=y") == ("a.b_c-d", "x=y")


def test_a_change_that_sets_and_removes_one_key_is_refused() -> None:
    with pytest.raises(BadHostChange, match="both set and removed"):
        HostChange(set_labels={"zone": "eu"}, remove_labels=("zone",)).checked()


def _host(node_id: str, hostname: str) -> Host:
    return Host(
        id=node_id, hostname=hostname, address="", state="ready", availability="active",
        role="worker", labels={}, runners=0, cpus=1, memory_bytes=1,
    )  # fmt: skip


class _Drains:
    def enqueue_drain(self, node_id: str) -> None:
        raise AssertionError("staged_change only decides")


def test_a_drain_of_a_host_with_runners_pauses_it_first_when_the_worker_moves_them() -> None:
    drain = HostChange(set_labels={"zone": "eu"}, availability="drain")
    busy = dataclasses.replace(_host("abc", "one"), runners=2)
    staged = staged_change(busy, drain, _Drains())
    assert (staged.availability, staged.set_labels) == ("pause", {"zone": "eu"})
    # Nothing to move, no queue, already drained, or no drain at all: as asked.
    assert staged_change(_host("abc", "one"), drain, _Drains()) == drain
    assert staged_change(busy, drain, None) == drain
    drained = dataclasses.replace(busy, availability="drain")
    assert staged_change(drained, drain, _Drains()) == drain
    pause = HostChange(availability="pause")
    assert staged_change(busy, pause, _Drains()) == pause


def test_a_host_is_found_by_id_prefix_or_name() -> None:
    hosts = [_host("abc123", "one"), _host("abd456", "two"), _host("xyz", "abc123x")]
    assert find_host(hosts, "abc123").hostname == "one"
    assert find_host(hosts, "abd").hostname == "two"
    assert find_host(hosts, "abc123x").id == "xyz"
    with pytest.raises(BadHostChange, match="several hosts"):
        find_host(hosts, "ab")
    with pytest.raises(HostNotFound):
        find_host(hosts, "")
