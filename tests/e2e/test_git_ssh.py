"""A private repository over ssh: a real OpenSSH server, a deploy key, a pinned host key.

The server lets in only the keys the test authorizes: the project's deploy key (made
by devpush) and a developer's key (made here, to push). The worker's fetch uses the
deploy key and the pinned host key; a refused key and a changed host key fail with
sentences a user can act on.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from huey import MemoryHuey

from devpush.core.config import Settings
from devpush.core.crypto import fernet_for
from devpush.main import create_app
from devpush.models import DeploymentStatus, Project
from devpush.services.git import Commit, GitError, fetch_commit
from devpush.services.project_git import (
    access_pending,
    access_view,
    check_access,
    make_deploy_key,
    project_credentials,
)
from devpush.services.webhooks.secret import rotate_secret
from devpush.workers.queue import DeployQueue
from devpush.workers.tasks.deploy import run_deploy
from devpush_dev.example import EXAMPLE_APP
from tests.e2e.support import Stack, queue_deployment
from tests.fixtures.sshd import SshServer, keygen
from tests.fixtures.web import pending
from tests.forges import octokit
from tests.utils.git import git

FERNET = fernet_for("ssh-e2e-key")
SETTINGS = Settings()


def developer_push(server: SshServer, key: Path, work: Path, message: str) -> str:
    """A new commit on main in ``work`` pushed over ssh with the developer's key; its SHA."""
    (work / "CHANGES.txt").write_text(f"{message}\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)
    subprocess.run(
        ["git", "push", "-q", "origin", "HEAD:main"],
        cwd=work,
        env=server.git_env(key),
        check=True,
        capture_output=True,
    )
    return git(work, "rev-parse", "HEAD")


def served_repo(server: SshServer, tmp_path: Path, source: Path) -> tuple[Path, Path, Path]:
    """A bare repo served by ``server`` holding ``source``; (bare, developer key, work tree)."""
    bare = tmp_path / "srv" / "app.git"
    bare.mkdir(parents=True)
    git(bare, "init", "-q", "--bare", "-b", "main")
    dev_key = tmp_path / "developer"
    keygen(dev_key, comment="developer")
    work = tmp_path / "work"
    subprocess.run(["cp", "-r", str(source), str(work)], check=True)
    git(work, "init", "-q", "-b", "main")
    git(work, "remote", "add", "origin", server.url(bare))
    return bare, dev_key, work


def fetch_main(project: Project, dest: Path) -> Commit:
    """The project's ``main``, fetched with its own credentials."""
    return fetch_commit(
        url=project.repo_url,
        branch="main",
        dest=dest,
        credentials=project_credentials(project, FERNET),
    )


def test_the_deploy_key_fetches_and_a_wrong_key_or_a_changed_host_key_fail_clearly(
    ssh_server: SshServer, tmp_path: Path
) -> None:
    bare, dev_key, work = served_repo(ssh_server, tmp_path, EXAMPLE_APP)
    project = Project(slug="shop", repo_url=ssh_server.url(bare), ssh_known_hosts="")
    assert access_pending(project) is not None  # no deploy key yet: "generate, add, check"
    public = make_deploy_key(project, FERNET)
    assert public.endswith(" devpush-shop")
    ssh_server.authorize(public, Path(f"{dev_key}.pub").read_text())
    pushed = developer_push(ssh_server, dev_key, work, "First over ssh")

    # The check pins the host key on first use, then reads the repository with the key.
    assert check_access(project, FERNET, SETTINGS) is None
    [host_key] = access_view(project).host_keys
    assert host_key.host == f"[127.0.0.1]:{ssh_server.port}"
    assert host_key.fingerprint.startswith("SHA256:")
    commit = fetch_main(project, tmp_path / "out")
    assert commit.sha == pushed

    # Another key (the deploy key regenerated, the forge not told): refused, and said so.
    old_known_hosts = project.ssh_known_hosts
    make_deploy_key(project, FERNET)
    with pytest.raises(GitError) as refused:
        fetch_main(project, tmp_path / "refused")
    assert str(refused.value).startswith("the forge refused the deploy key: add the public key")
    assert "PRIVATE KEY" not in str(refused.value)
    problem = check_access(project, FERNET, SETTINGS)
    assert problem is not None and "refused the deploy key" in problem

    # The server's host key changes: the pinned one no longer matches.
    ssh_server.authorize(public)
    ssh_server.restart_with_new_host_key()
    project.ssh_known_hosts = old_known_hosts
    project.deploy_key_public = public
    with pytest.raises(GitError) as changed:
        fetch_main(project, tmp_path / "changed")
    assert str(changed.value).startswith("the host key of 127.0.0.1 changed:")
    assert "re-pin it in Settings → Git" in str(changed.value)


def over_ssh(stack: Stack, ssh_server: SshServer, tmp_path: Path) -> tuple[Path, Path, Fernet, str]:
    """The stack's project reading a repository ``ssh_server`` serves, with its deploy key
    authorized and the host key pinned by a check; the developer's key and work tree, the
    stack's cipher, and the first commit pushed."""
    bare, dev_key, work = served_repo(ssh_server, tmp_path, stack.repo)
    fernet = fernet_for(stack.settings.secret_key.get_secret_value())
    with stack.sessions() as session:
        project = session.get(Project, stack.project_id)
        assert project is not None
        project.repo_url = ssh_server.url(bare)
        public = make_deploy_key(project, fernet)
        ssh_server.authorize(public, Path(f"{dev_key}.pub").read_text())
        first = developer_push(ssh_server, dev_key, work, "First over ssh")
        assert check_access(project, fernet, stack.settings) is None
        session.commit()
    return dev_key, work, fernet, first


@pytest.mark.docker
def test_a_push_over_ssh_deploys_that_commit_and_a_chosen_older_one(
    ssh_server: SshServer, tmp_path: Path, stack: Stack
) -> None:
    dev_key, work, _, first = over_ssh(stack, ssh_server, tmp_path)

    second = developer_push(ssh_server, dev_key, work, "Second over ssh")
    deployment_id = queue_deployment(stack)
    run_deploy(deployment_id, ctx=stack.ctx)
    deployment = stack.wait_for(deployment_id, {DeploymentStatus.RUNNING})
    assert (deployment.commit_sha, deployment.commit_message) == (second, "Second over ssh")
    environment = stack.container(deployment).attrs["Config"]["Env"]
    assert f"DEVPUSH_COMMIT_SHA={second}" in environment

    # The branch moved on; the older commit, chosen, is what runs.
    developer_push(ssh_server, dev_key, work, "Third over ssh")
    chosen_id = queue_deployment(stack, commit=first)
    run_deploy(chosen_id, ctx=stack.ctx)
    chosen = stack.wait_for(chosen_id, {DeploymentStatus.RUNNING})
    assert (chosen.commit_sha, chosen.requested_commit) == (first, first)
    environment = stack.container(chosen).attrs["Config"]["Env"]
    assert f"DEVPUSH_COMMIT_SHA={first}" in environment


@pytest.mark.docker
def test_a_push_then_the_forges_webhook_deploys_exactly_that_commit(
    ssh_server: SshServer, tmp_path: Path, stack: Stack
) -> None:
    """The whole push-to-deploy path: a developer pushes over ssh, GitHub's own push payload
    (signed by GitHub's code) reaches the webhook, and the worker deploys that commit with
    the deploy key, although the branch moved on before the job ran."""
    dev_key, work, fernet, _ = over_ssh(stack, ssh_server, tmp_path)
    with stack.sessions() as session:
        project = session.get(Project, stack.project_id)
        assert project is not None
        secret = rotate_secret(session, project=project, fernet=fernet)
        repo_url = project.repo_url
        session.commit()

    pushed = developer_push(ssh_server, dev_key, work, "Pushed, then announced")
    payload = octokit.example("push", ref="refs/heads/master", deleted=False)
    payload["ref"], payload["after"] = "refs/heads/main", pushed
    payload["repository"].update(
        clone_url=repo_url, ssh_url=repo_url, git_url=repo_url, html_url=repo_url
    )
    body = json.dumps(payload)
    queue = DeployQueue(MemoryHuey(immediate=False))
    with TestClient(create_app(stack.settings, queue=queue)) as client:
        answer = client.post(
            f"/api/v1/hooks/{stack.project_id}",
            content=body.encode(),
            headers={
                "Content-Type": "application/json",
                "X-GitHub-Event": "push",
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature-256": octokit.sign(secret, body),
            },
        )
    assert answer.status_code == 202, answer.text
    deployment_id = answer.json()["deployment_id"]
    assert [args for _, args in pending(queue)] == [(deployment_id,)]

    developer_push(ssh_server, dev_key, work, "Moved on before the job ran")
    run_deploy(deployment_id, ctx=stack.ctx)
    deployment = stack.wait_for(deployment_id, {DeploymentStatus.RUNNING})
    assert (deployment.commit_sha, deployment.commit_message) == (pushed, "Pushed, then announced")
    environment = stack.container(deployment).attrs["Config"]["Env"]
    assert f"DEVPUSH_COMMIT_SHA={pushed}" in environment
