"""devpush_dev.ports: the one free_port, never the same port twice in a process."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

from devpush_dev.ports import free_port


def test_ports_are_never_handed_out_twice_even_across_threads() -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        ports = list(pool.map(lambda _: free_port(), range(200)))
    assert len(set(ports)) == len(ports)


def test_a_child_can_bind_the_port_for_tcp_and_udp_at_once() -> None:
    port = free_port()
    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind(("127.0.0.1", port))
        tcp.listen()
        udp.bind(("127.0.0.1", port))
