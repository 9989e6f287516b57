"""A private repository over HTTPS with an access token: a real TLS front and git host.

``git http-backend`` answers only Basic auth with the token, behind Caddy's
``tls internal`` (tests/fixtures/git_https.py). The token reaches git through
GIT_ASKPASS and a 0600 file: it shows in no process's arguments (sampled with
``ps`` while the clone runs), no log, no error, no failure record, no API answer.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from devpush.main import create_app
from devpush.models import DeploymentStatus, Project, TeamMember, TeamRole
from devpush.services.tokens import create_token
from devpush.services.users import create_user
from devpush.workers.tasks.deploy import run_deploy
from tests.e2e.support import Stack, memory_queue, queue_deployment
from tests.fixtures.git_https import GitHttps
from tests.utils.git import git

pytestmark = pytest.mark.docker


@contextmanager
def sampled_process_list() -> Iterator[list[str]]:
    """Every ``ps -eo args`` line seen while the block runs (sampled every 20 ms)."""
    seen: list[str] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
            seen.extend(out.splitlines())
            done.wait(0.02)

    thread = threading.Thread(target=sample)
    thread.start()
    try:
        yield seen
    finally:
        done.set()
        thread.join()


def owner_client(stack: Stack) -> tuple[TestClient, dict[str, str]]:
    with stack.sessions() as session:
        user = create_user(session, email=f"{uuid.uuid4().hex[:8]}@example.org", password="pw-" * 4)
        project = session.get(Project, stack.project_id)
        assert project is not None
        session.add(TeamMember(team_id=project.team_id, user=user, role=TeamRole.OWNER))
        _, token = create_token(session, user=user, name="e2e")
        session.commit()
    client = TestClient(create_app(stack.settings, queue=memory_queue()))
    return client, {"Authorization": f"Bearer {token}"}


def test_a_token_clones_over_https_and_never_shows(
    git_https: GitHttps,
    stack: Stack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("GIT_SSL_CAINFO", str(git_https.ca_file))  # trust Caddy's own CA
    # The worker user's git config names a helper that would store the token: unused.
    home = tmp_path / "home"
    home.mkdir()
    stored = tmp_path / "stored-credentials"
    (home / ".gitconfig").write_text(f"[credential]\n\thelper = store --file {stored}\n")
    monkeypatch.setenv("HOME", str(home))
    bare = git_https.root / "team" / "app.git"
    bare.mkdir(parents=True)
    git(bare, "init", "-q", "--bare", "-b", "main")
    git(stack.repo, "push", "-q", str(bare), "main")
    pushed = git(stack.repo, "rev-parse", "HEAD")
    url = git_https.url("team/app.git")
    with stack.sessions() as session:
        project = session.get(Project, stack.project_id)
        assert project is not None
        project.repo_url = url
        session.commit()
    client, auth = owner_client(stack)
    answers: list[str] = []

    def call(method: str, path: str, **kwargs: object) -> dict:
        response = client.request(method, f"/api/v1/projects/hello{path}", headers=auth, **kwargs)
        answers.append(response.text)
        assert response.status_code < 300, response.text
        return response.json() if response.content else {}

    with client:
        # Without the token the forge refuses, and the check says so.
        check = call("POST", "/git/check")
        assert check["ok"] is False
        assert "refused the credentials" in check["problem"]

        shown = call("PUT", "/git/token", json={"token": git_https.token, "username": "oauth2"})
        assert (shown["has_token"], shown["auth"], shown["token_username"]) == (
            True,
            "token",
            "oauth2",
        )
        assert call("POST", "/git/check") == {"ok": True, "problem": None}

        git_https.delay = 0.2  # each request waits: the clone is seen in the process list
        deployment_id = queue_deployment(stack)
        with sampled_process_list() as processes:
            run_deploy(deployment_id, ctx=stack.ctx)
        git_https.delay = 0.0
        deployment = stack.wait_for(deployment_id, {DeploymentStatus.RUNNING})
        assert deployment.commit_sha == pushed
        assert any("remote-https" in line for line in processes), "no clone seen running"
        assert not [line for line in processes if git_https.token in line]

        # A wrong token: the deploy fails in the clone step, saying why, without the token.
        wrong = "glpat-wrong-" + uuid.uuid4().hex
        call("PUT", "/git/token", json={"token": wrong})
        failed_id = queue_deployment(stack)
        run_deploy(failed_id, ctx=stack.ctx)
        failed = stack.wait_for(failed_id, {DeploymentStatus.FAILED})
        assert failed.error is not None
        assert failed.error.startswith("the forge refused the credentials"), failed.error
        record = " ".join(failed.failure_lines or [])
        assert "refused the credentials" in record
        answers.append(client.get(f"/api/v1/deployments/{failed_id}", headers=auth).text)
        answers.append(client.get(f"/api/v1/deployments/{deployment_id}", headers=auth).text)
        answers.append(client.get("/api/v1/projects/hello/git", headers=auth).text)
        answers.append(client.get("/api/v1/projects/hello", headers=auth).text)

    assert not stored.exists(), "a credential helper stored the token"
    captured = capfd.readouterr()
    for secret in (git_https.token, wrong):
        for where, text in [
            ("log records", caplog.text),
            ("stdout/stderr", captured.out + captured.err),
            ("errors", f"{failed.error} {record}"),
            ("API answers", "\n".join(answers)),
        ]:
            assert secret not in text, f"the token shows in the {where}"
