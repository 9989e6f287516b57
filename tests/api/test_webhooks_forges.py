"""GitLab, Gitea and Forgejo: their documented push examples (tests/forges/payloads/),
with the headers each forge sends, posted to the real app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import DeploymentStatus, Project
from tests.fixtures.web import Member, deployment_of
from tests.forges.hooks import ZERO, Hook, deliveries_of, hex_hmac, new_delivery, post

PAYLOADS = Path(__file__).parents[1] / "forges" / "payloads"


def load(name: str, **changes: Any) -> dict[str, Any]:
    """The forge's example ``name``, with ``changes`` to its top-level fields."""
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return {**data, **changes}


def point_at(sessions: sessionmaker[Session], member: Member, repo_url: str) -> None:
    """The project deploys ``repo_url``, the repository of the forge's example."""
    with sessions() as session:
        project = session.get(Project, member.project_id)
        assert project is not None
        project.repo_url = repo_url
        session.commit()


# -- GitLab ---------------------------------------------------------------------------


def gitlab(
    client: TestClient, hook: Hook, payload: dict[str, Any], *, event: str = "Push Hook", **kw: str
) -> dict[str, Any]:
    headers = {
        "X-Gitlab-Event": event,
        "X-Gitlab-Token": kw.get("token", hook.secret),
        "X-Gitlab-Event-UUID": kw.get("uuid", new_delivery()),
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "User-Agent": "GitLab/17.0.0",
    }
    response = post(client, hook, json.dumps(payload), headers)
    assert response.status_code < 500, response.text
    return {"status": response.status_code, **response.json()}


def test_gitlab_push_deploys_checkout_sha(
    client: TestClient, hook: Hook, alice: Member, sessions: sessionmaker[Session]
) -> None:
    # The project names the repository as ssh://; GitLab sends git@host:path and http://.
    point_at(sessions, alice, "ssh://git@EXAMPLE.com/mike/diaspora")
    payload = load("gitlab_push.json", ref="refs/heads/main")
    answer = gitlab(client, hook, payload, uuid="gl-1")
    assert answer["status"] == 202, answer
    deployment = deployment_of(sessions, answer["deployment_id"])
    assert deployment.requested_commit == payload["checkout_sha"]
    assert deployment.branch == "main"
    assert gitlab(client, hook, payload, uuid="gl-1") == {**answer, "status": 200}
    [row] = [r for r in deliveries_of(sessions, alice.project_id) if r.delivery == "gl-1"]
    assert (row.forge, row.event) == ("gitlab", "Push Hook")


def test_gitlab_wrong_token_tag_push_deleted_branch_and_other_repository(
    client: TestClient, hook: Hook, alice: Member, sessions: sessionmaker[Session]
) -> None:
    point_at(sessions, alice, "http://example.com/mike/diaspora.git")
    payload = load("gitlab_push.json", ref="refs/heads/feature")
    assert gitlab(client, hook, payload, token="wrong")["status"] == 401
    deployed = gitlab(client, hook, payload)
    assert deployed["status"] == 202, deployed

    tag = load("gitlab_push.json", object_kind="tag_push", ref="refs/tags/v1.0.0")
    ignored = gitlab(client, hook, tag, event="Tag Push Hook")
    assert (ignored["status"], ignored["reason"]) == (200, "tags are not deployed")

    deleted = {**payload, "after": ZERO, "checkout_sha": None}
    stopped = gitlab(client, hook, deleted)
    assert stopped["result"] == "stopped", stopped
    assert deployment_of(sessions, deployed["deployment_id"]).status is DeploymentStatus.STOPPED

    point_at(sessions, alice, "https://gitlab.example.com/someone/else.git")
    refused = gitlab(client, hook, payload)
    assert refused["status"] == 422
    assert "someone/else" in refused["reason"]


# -- Gitea and Forgejo -----------------------------------------------------------------


def gitea_headers(forge: str, body: bytes, secret: str, *, event: str = "push") -> dict[str, str]:
    """What Gitea sends (its own headers, and Gogs' and GitHub's for compatibility); Forgejo
    sends its own besides Gitea's."""
    delivery = new_delivery()
    signature = hex_hmac(secret, body)
    headers = {
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Event": event,
        "X-Gogs-Delivery": delivery,
        "X-Gogs-Event": event,
        "X-Gitea-Delivery": delivery,
        "X-Gitea-Event": event,
        "X-Gitea-Signature": signature,
        "X-Hub-Signature-256": f"sha256={signature}",
    }
    if forge == "forgejo":
        headers.update(
            {
                "X-Forgejo-Delivery": delivery,
                "X-Forgejo-Event": event,
                "X-Forgejo-Signature": signature,
            }
        )
    return headers


@pytest.mark.parametrize("forge", ["gitea", "forgejo"])
def test_gitea_and_forgejo_push_and_delete(
    forge: str, client: TestClient, hook: Hook, alice: Member, sessions: sessionmaker[Session]
) -> None:
    point_at(sessions, alice, "http://LOCALHOST:3000/gitea/webhooks")
    payload = load("gitea_push.json")
    body = json.dumps(payload).encode()
    response = post(client, hook, body, gitea_headers(forge, body, hook.secret))
    assert response.status_code == 202, response.text
    deployment = deployment_of(sessions, response.json()["deployment_id"])
    assert (deployment.branch, deployment.requested_commit) == ("develop", payload["after"])
    assert deliveries_of(sessions, alice.project_id)[-1].forge == forge

    # Signed with another secret: refused, whichever header carries it.
    wrong = gitea_headers(forge, body, "another secret")
    assert post(client, hook, body, wrong).status_code == 401

    delete = {"ref": "develop", "ref_type": "branch", "repository": payload["repository"]}
    body = json.dumps(delete).encode()
    response = post(client, hook, body, gitea_headers(forge, body, hook.secret, event="delete"))
    assert response.status_code == 200, response.text
    assert response.json()["result"] == "stopped"
    assert deployment_of(sessions, deployment.id).status is DeploymentStatus.STOPPED
