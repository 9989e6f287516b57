import re

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import DeploymentStatus, DeployStep
from devpush.services.deployments import transition
from devpush.workers.queue import DeployQueue
from tests.fixtures.web import TwoTeams, deployment_of, log_in, move, pending


def test_deploy_a_branch_from_the_project_page(
    client: TestClient, two_teams: TwoTeams, queue: DeployQueue, sessions: sessionmaker[Session]
) -> None:
    token = log_in(client, "alice@example.org")
    slug = two_teams.alice.project_slug
    before = len(pending(queue))
    response = client.post(
        f"/projects/{slug}/deployments",
        data={"branch": "feature/login", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    deployment_id = response.headers["location"].rsplit("/", 1)[1]
    assert pending(queue)[before:] == [("devpush.deploy", (deployment_id,))]
    deployment = deployment_of(sessions, deployment_id)
    assert (deployment.branch, deployment.status) == ("feature/login", DeploymentStatus.QUEUED)
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert "feature/login" in page.text
    assert 'id="deployment-logs"' in page.text
    # The preview environment shows on the project page.
    assert "feature/login" in client.get(f"/projects/{slug}").text


def test_invalid_branch_is_refused(client: TestClient, two_teams: TwoTeams) -> None:
    token = log_in(client, "alice@example.org")
    response = client.post(
        f"/projects/{two_teams.alice.project_slug}/deployments",
        data={"branch": "bad..name", "csrf_token": token},
    )
    assert response.status_code == 422


def test_redeploy_and_cancel(
    client: TestClient, two_teams: TwoTeams, queue: DeployQueue, sessions: sessionmaker[Session]
) -> None:
    token = log_in(client, "alice@example.org")
    alice = two_teams.alice
    base = f"/projects/{alice.project_slug}/deployments/{alice.deployment_id}"
    response = client.post(f"{base}/redeploy", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    new_id = response.headers["location"].rsplit("/", 1)[1]
    assert new_id != alice.deployment_id
    assert pending(queue)[-1] == ("devpush.deploy", (new_id,))

    response = client.post(f"{base}/cancel", data={"csrf_token": token}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, base)
    assert deployment_of(sessions, alice.deployment_id).status is DeploymentStatus.STOPPED

    # A running one is stopped through the worker.
    with sessions() as session:
        transition(session, deployment_id=new_id, to=DeploymentStatus.BUILDING)
        transition(session, deployment_id=new_id, to=DeploymentStatus.RUNNING, host_port=41234)
        session.commit()
    new_base = f"/projects/{alice.project_slug}/deployments/{new_id}"
    client.post(f"{new_base}/cancel", data={"csrf_token": token})
    assert pending(queue)[-1] == ("devpush.stop", (new_id,))


def test_status_partial_polls_until_settled(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    log_in(client, "alice@example.org")
    alice = two_teams.alice
    url = f"/projects/{alice.project_slug}/deployments/{alice.deployment_id}/status"
    partial = client.get(url, headers={"HX-Request": "true"})
    assert 'hx-trigger="every 2s"' in partial.text
    move(sessions, alice.deployment_id, DeploymentStatus.BUILDING)
    move(
        sessions,
        alice.deployment_id,
        DeploymentStatus.FAILED,
        exit_code=3,
        error="start command exited",
    )
    partial = client.get(url, headers={"HX-Request": "true"})
    assert 'data-status="failed"' in partial.text
    assert "start command exited" in partial.text
    assert "<code>3</code>" in partial.text
    assert "hx-trigger" not in partial.text


def test_the_failure_record_shows_on_the_page_and_in_the_api_while_the_log_store_is_down(
    client: TestClient, two_teams: TwoTeams, sessions: sessionmaker[Session], log_store_url: str
) -> None:
    # ``log_store_url`` is a closed port: the log store cannot answer.
    with pytest.raises(httpx.ConnectError):
        httpx.get(log_store_url, timeout=2)
    log_in(client, "alice@example.org")
    alice = two_teams.alice
    lines = [
        "compiling",
        "<script>alert(1)</script>",
        "\x1b[31mred error\x1b[0m \x1b]0;title\x07done",
    ]
    move(sessions, alice.deployment_id, DeploymentStatus.BUILDING)
    move(
        sessions,
        alice.deployment_id,
        DeploymentStatus.FAILED,
        error="Build exited with code 3",
        exit_code=3,
        failure_step=DeployStep.BUILD,
        failure_lines=lines,
    )
    base = f"/projects/{alice.project_slug}/deployments/{alice.deployment_id}"

    for html in (client.get(base).text, client.get(f"{base}/status").text):
        assert "Why it failed" in html
        assert 'data-step="build"' in html
        assert "<dt>Step</dt><dd>Build</dd>" in html
        rendered = re.findall(r'<span class="failure-line">(.*?)</span>(?=\n|</pre>)', html)
        assert rendered == [
            "compiling",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            '<span class="ansi-fg-1">red error</span> done',
        ]
        assert "<script>alert" not in html
        assert "\x1b" not in html

    response = client.get(
        f"/api/v1/deployments/{alice.deployment_id}",
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert response.json()["failure"] == {"step": "build", "exit_code": 3, "lines": lines}
    other = client.get(
        f"/api/v1/deployments/{two_teams.bob.deployment_id}",
        headers={"Authorization": f"Bearer {two_teams.bob.token}"},
    )
    assert other.json()["failure"] is None
