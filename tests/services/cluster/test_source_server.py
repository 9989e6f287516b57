"""The source server: each archive once, to the bearer of its token only."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from devpush.services.cluster.source_server import SourceOffers, SourceServer


@pytest.fixture
def server() -> Iterator[SourceServer]:
    started = SourceServer("127.0.0.1").start()
    try:
        yield started
    finally:
        started.stop()


def test_an_archive_is_served_once_to_its_token(server: SourceServer) -> None:
    token = server.offers.offer(b"tar bytes", ttl_seconds=60)
    other = server.offers.offer(b"other", ttl_seconds=60)
    assert token not in server.url

    assert httpx.get(server.url).status_code == 404
    assert httpx.get(server.url, headers={"Authorization": "Bearer wrong"}).status_code == 404
    answer = httpx.get(server.url, headers={"Authorization": f"Bearer {token}"})
    assert (answer.status_code, answer.content) == (200, b"tar bytes")
    assert answer.headers["content-type"] == "application/x-tar"
    again = httpx.get(server.url, headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 404
    # Only the source path answers, and the other offer still waits.
    elsewhere = server.url.replace("/source", "/other")
    assert httpx.get(elsewhere, headers={"Authorization": f"Bearer {other}"}).status_code == 404
    assert server.offers.waiting() == 1


def test_an_offer_expires() -> None:
    offers = SourceOffers()
    token = offers.offer(b"x", ttl_seconds=0.05)
    time.sleep(0.1)
    assert offers.take(token) is None
    assert offers.waiting() == 0


def test_an_offer_for_replicas_answers_once_per_task() -> None:
    offers = SourceOffers()
    token = offers.offer(b"x", ttl_seconds=60, fetches=2)
    assert offers.take(token) == b"x"
    assert offers.waiting() == 1
    assert offers.take(token) == b"x"
    assert offers.take(token) is None
    assert offers.waiting() == 0
