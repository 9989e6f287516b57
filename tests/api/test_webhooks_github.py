"""GitHub's side of a webhook, with GitHub's own code: the payloads are the examples GitHub
publishes (``@octokit/webhooks-examples``), pointed at the test project's repository, and
signed by ``@octokit/webhooks-methods``' ``sign()`` under Node; they are posted to the real
app. None of the answers is ever a 500.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.models import DeliveryResult, DeploymentStatus, DeployTrigger
from devpush.services.webhooks.base import SignatureError, hmac_sha256_hex
from devpush.services.webhooks.github import GitHub
from devpush.workers.queue import DeployQueue
from tests.fixtures.web import Member, TwoTeams, deployment_of, pending
from tests.forges import octokit
from tests.forges.hooks import (
    REPO_URL,
    SHA_B,
    Hook,
    create_hook,
    deliveries_of,
    deployments_of,
    dumps,
    new_delivery,
    post,
)

MAX_BODY = 64 * 1024


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # A small limit, so the oversize test sends little.
    return settings.model_copy(update={"webhook_max_body_bytes": MAX_BODY})


def at_project(payload: dict[str, Any]) -> dict[str, Any]:
    """The example, its repository's addresses rewritten to the project's (in each form)."""
    payload["repository"].update(
        clone_url=REPO_URL,
        ssh_url="git@git.example.org:hello.git",
        git_url="git://git.example.org/hello.git",
        html_url="https://git.example.org/hello",
    )
    return payload


def push_to(branch: str, *, commit: str | None = None) -> dict[str, Any]:
    """GitHub's example of a branch push, to ``branch`` of the project."""
    payload = at_project(octokit.example("push", ref="refs/heads/master", deleted=False))
    payload["ref"] = f"refs/heads/{branch}"
    if commit is not None:
        payload["after"] = commit
    return payload


def send(
    client: TestClient,
    hook: Hook,
    event: str,
    payload: dict[str, Any] | str,
    *,
    delivery: str | None = None,
    signature: str | None = None,
) -> httpx.Response:
    body = payload if isinstance(payload, str) else dumps(payload)
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or new_delivery(),
        "X-Hub-Signature-256": signature or octokit.sign(hook.secret, body),
        "User-Agent": "GitHub-Hookshot/test",
    }
    response = post(client, hook, body, headers)
    assert response.status_code < 500, response.text
    return response


def assert_stops(
    client: TestClient,
    hook: Hook,
    event: str,
    payload: dict[str, Any],
    sessions: sessionmaker[Session],
    deployment_id: str,
) -> None:
    """The event answers "stopped", and the deployment is stopped."""
    response = send(client, hook, event, payload)
    assert response.status_code == 200, response.text
    assert response.json()["result"] == "stopped"
    assert deployment_of(sessions, deployment_id).status is DeploymentStatus.STOPPED


def test_a_push_queues_a_deployment_of_that_commit(
    client: TestClient, hook: Hook, sessions: sessionmaker[Session], queue: DeployQueue
) -> None:
    payload = push_to("main")
    response = send(client, hook, "push", payload, delivery="d-push-1")
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["delivery"] == "d-push-1"
    assert answer["result"] == "deployed"
    deployment = deployment_of(sessions, answer["deployment_id"])
    assert deployment.requested_commit == payload["after"]
    assert deployment.branch == "main"
    assert deployment.trigger is DeployTrigger.WEBHOOK
    assert deployment.status is DeploymentStatus.QUEUED
    assert ("devpush.deploy", (deployment.id,)) in pending(queue)
    [row] = deliveries_of(sessions, hook.project_id)
    assert (row.forge, row.event, row.branch, row.commit) == (
        "github",
        "push",
        "main",
        payload["after"],
    )
    assert row.result is DeliveryResult.DEPLOYED
    assert row.deployment_id == deployment.id


def test_a_replayed_delivery_answers_the_first_result_and_deploys_once(
    client: TestClient, hook: Hook, sessions: sessionmaker[Session], queue: DeployQueue
) -> None:
    payload = push_to("main")
    first = send(client, hook, "push", payload, delivery="d-replay")
    before = len(deployments_of(sessions, hook.project_id))
    queued = len(pending(queue))
    again = send(client, hook, "push", payload, delivery="d-replay")
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert len(deployments_of(sessions, hook.project_id)) == before
    assert len(pending(queue)) == queued
    assert len(deliveries_of(sessions, hook.project_id)) == 1


def test_ping_answers_that_the_webhook_is_set_up(client: TestClient, hook: Hook) -> None:
    response = send(client, hook, "ping", at_project(octokit.examples("ping")[0]))
    assert response.status_code == 200, response.text
    assert response.json()["result"] == "ignored"
    assert response.json()["reason"] == "ping: the webhook is set up"


def test_a_deleted_branch_stops_its_preview(
    client: TestClient, hook: Hook, sessions: sessionmaker[Session]
) -> None:
    deployed = send(client, hook, "push", push_to("feature", commit=SHA_B))
    assert deployed.status_code == 202, deployed.text
    deployment_id = deployed.json()["deployment_id"]

    payload = at_project(octokit.examples("delete")[0])
    payload.update(ref="feature", ref_type="branch")
    assert_stops(client, hook, "delete", payload, sessions, deployment_id)


def test_a_push_that_deletes_a_branch_stops_its_preview(
    client: TestClient, hook: Hook, sessions: sessionmaker[Session]
) -> None:
    deployed = send(client, hook, "push", push_to("feature", commit=SHA_B))
    deployment_id = deployed.json()["deployment_id"]
    payload = at_project(octokit.example("push", deleted=True, organization=None))
    payload["ref"] = "refs/heads/feature"
    assert_stops(client, hook, "push", payload, sessions, deployment_id)


def test_tags_are_not_deployed(
    client: TestClient, hook: Hook, sessions: sessionmaker[Session]
) -> None:
    before = len(deployments_of(sessions, hook.project_id))
    for event, payload in (
        ("push", octokit.example("push", ref="refs/tags/simple-tag", deleted=False)),
        ("delete", octokit.examples("delete")[0]),
    ):
        response = send(client, hook, event, at_project(payload))
        assert response.status_code == 200, response.text
        assert response.json()["reason"] == "tags are not deployed"
    assert len(deployments_of(sessions, hook.project_id)) == before


def test_a_bad_signature_is_401_and_queues_nothing(
    client: TestClient, hook: Hook, sessions: sessionmaker[Session], queue: DeployQueue
) -> None:
    payload = push_to("main")
    queued = len(pending(queue))
    wrong = octokit.sign("not-the-secret", dumps(payload))
    for signature in (wrong, "sha256=", "sha1=abc"):
        response = send(client, hook, "push", payload, signature=signature, delivery="d-bad")
        assert response.status_code == 401, response.text
        assert response.json()["result"] == "refused"
    # And no signature header at all.
    body = dumps(payload)
    response = post(client, hook, body, {"X-GitHub-Event": "push", "X-GitHub-Delivery": "d-bad"})
    assert response.status_code == 401, response.text
    assert len(pending(queue)) == queued
    rows = deliveries_of(sessions, hook.project_id)
    assert {row.result for row in rows} == {DeliveryResult.REFUSED}
    assert all(row.dedupe_key is None and row.deployment_id is None for row in rows)
    # The refused calls took nothing away from the real delivery.
    assert send(client, hook, "push", payload, delivery="d-bad").status_code == 202


def test_a_push_of_another_repository_is_422(
    client: TestClient, hook: Hook, sessions: sessionmaker[Session]
) -> None:
    payload = octokit.example("push", ref="refs/heads/master", deleted=False)  # Codertocat's
    payload["ref"] = "refs/heads/main"
    before = len(deployments_of(sessions, hook.project_id))
    response = send(client, hook, "push", payload)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["result"] == "refused"
    assert "Codertocat/Hello-World" in answer["reason"]
    assert REPO_URL in answer["reason"]
    assert len(deployments_of(sessions, hook.project_id)) == before
    [row] = deliveries_of(sessions, hook.project_id)
    assert row.result is DeliveryResult.REFUSED


def test_an_oversize_body_is_413(client: TestClient, hook: Hook) -> None:
    payload = push_to("main")
    payload["padding"] = "x" * (MAX_BODY + 1)
    response = send(client, hook, "push", payload)
    assert response.status_code == 413, response.text

    # Without a Content-Length (chunked): the reading stops at the limit.
    def chunks() -> Any:
        for _ in range(10):
            yield b"x" * (MAX_BODY // 4)

    chunked = client.post(
        hook.path,
        content=chunks(),
        headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=00"},
    )
    assert chunked.status_code == 413, chunked.text


def test_malformed_json_is_400_and_a_missing_field_422(client: TestClient, hook: Hook) -> None:
    response = send(client, hook, "push", '{"ref": "refs/heads/main",')
    assert response.status_code == 400, response.text
    assert "not valid JSON" in response.json()["reason"]
    payload = push_to("main")
    del payload["after"]
    response = send(client, hook, "push", payload)
    assert response.status_code == 422, response.text
    assert "'after'" in response.json()["reason"]


def test_an_unknown_project_or_no_webhook_is_404(
    client: TestClient, two_teams: TwoTeams, hook: Hook
) -> None:
    body = dumps(push_to("main"))
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": octokit.sign(hook.secret, body)}
    unknown = client.post("/api/v1/hooks/no-such-project", content=body, headers=headers)
    assert unknown.status_code == 404, unknown.text
    # Bob's project has no webhook yet: the same answer.
    bob = client.post(f"/api/v1/hooks/{two_teams.bob.project_id}", content=body, headers=headers)
    assert bob.status_code == 404, bob.text
    assert bob.json() == unknown.json()


def test_our_signature_check_agrees_with_octokit_verify() -> None:
    secret, body = "It's a Secret to Everybody", dumps(push_to("main"))
    ours = "sha256=" + hmac_sha256_hex(secret, body.encode())
    assert octokit.verify(secret, body, ours)
    assert not octokit.verify("another secret", body, ours)
    theirs = octokit.sign(secret, body)
    assert theirs == ours
    GitHub().verify({"x-hub-signature-256": theirs}, body.encode(), secret)
    with pytest.raises(SignatureError):
        GitHub().verify({"x-hub-signature-256": theirs}, body.encode(), "another secret")
    # GitHub's documented test vector (docs: "Validating webhook deliveries").
    assert octokit.sign(secret, "Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


def test_the_endpoint_answers_well_under_a_second(
    web_app: FastAPI, live_url: str, client: TestClient, alice: Member
) -> None:
    hook = create_hook(client, alice)
    body = dumps(push_to("main"))
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": new_delivery(),
        "X-Hub-Signature-256": octokit.sign(hook.secret, body),
    }
    started = time.monotonic()
    response = httpx.post(live_url + hook.path, content=body, headers=headers, timeout=10)
    elapsed = time.monotonic() - started
    assert response.status_code == 202, response.text
    assert elapsed < 1.0, f"the webhook took {elapsed:.2f} s"
