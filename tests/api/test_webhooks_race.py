"""The same delivery arriving several times at once (a forge's retry racing the first
call): one deployment, and every copy answers with its result. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.web import TwoTeams
from tests.forges.hooks import SHA_A, create_hook, deliveries_of, deployments_of, hex_hmac

COPIES = 6


pytestmark = pytest.mark.both_databases


def test_copies_at_once_deploy_once(
    live_url: str, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    alice = two_teams.alice
    with httpx.Client(base_url=live_url, timeout=10) as api:
        hook = create_hook(api, alice)
    before = len(deployments_of(sessions, alice.project_id))
    body = json.dumps({"branch": "main", "commit": SHA_A}).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Devpush-Signature": "sha256=" + hex_hmac(hook.secret, body),
        "X-Devpush-Delivery": "same-delivery",
    }

    def call(_: int) -> httpx.Response:
        return httpx.post(hook.url, content=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(COPIES) as pool:
        answers = list(pool.map(call, range(COPIES)))
    assert sorted(a.status_code for a in answers) == [200] * (COPIES - 1) + [202], [
        a.text for a in answers
    ]
    assert len({a.json()["deployment_id"] for a in answers}) == 1
    assert {a.json()["result"] for a in answers} == {"deployed"}
    assert len(deployments_of(sessions, alice.project_id)) == before + 1
    assert len(deliveries_of(sessions, alice.project_id)) == 1
