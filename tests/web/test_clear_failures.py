"""Failures a person can read: git's whole error, repositories and images checked at creation,
error pages in the site's layout, form errors in plain words next to their field."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import docker
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from devpush.cli import app as cli
from devpush.cli.config import CONFIG_ENV
from devpush.services.git import GitError, error_text, fetch_commit, repository_problem
from devpush.services.runner import BUILD_REPOSITORY
from tests.fixtures.web import Member, TwoTeams, log_in
from tests.utils.git import make_repo

FORM = {
    "name": "Blog",
    "slug": "",
    "default_branch": "main",
    "runner_image": "devpush/runner-python:local",
    "root_directory": "",
    "build_command": "",
    "pre_deploy_command": "",
    "start_command": "python3 app.py",
    "port": "8000",
    "env_vars": "",
}


def field_errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'id="error-([a-z_]+)">([^<]+)<', html))


def test_git_errors_keep_all_of_gits_words(tmp_path: Path) -> None:
    with pytest.raises(GitError) as caught:
        fetch_commit(url=str(tmp_path / "missing"), branch="main", dest=tmp_path / "clone")
    message = str(caught.value)
    # Not just the last line ("and the repository exists."): what went wrong, first.
    assert "does not appear to be a git repository" in message
    assert "Could not read from remote repository" in message
    assert "and the repository exists." in message


def test_git_error_text_is_bounded() -> None:
    text = error_text("\n".join(f"fatal: line {n}" for n in range(500)))
    assert text.startswith("fatal: line 0\nfatal: line 1")
    assert text.count("\n") <= 13 and "(488 more lines)" in text
    assert len(error_text("x" * 100_000)) <= 1500


def test_repository_problems(tmp_path: Path) -> None:
    assert repository_problem(str(make_repo(tmp_path / "ok"))) is None
    assert repository_problem((make_repo(tmp_path / "uri")).as_uri()) is None
    missing = repository_problem(str(tmp_path / "nope"))
    assert missing == f"no such directory on the server: {tmp_path / 'nope'}"
    (tmp_path / "plain").mkdir()
    plain = repository_problem(str(tmp_path / "plain"))
    assert plain and "does not appear to be a git repository" in plain
    # A URL nothing answers on (a closed loopback port): refused with curl's reason.
    unreachable = repository_problem("https://127.0.0.1:1/team/app.git")
    assert unreachable and "Failed to connect to 127.0.0.1 port 1" in unreachable


def test_the_form_refuses_a_repository_git_cannot_read(
    client: TestClient, csrf: str, tmp_path: Path
) -> None:
    (tmp_path / "plain").mkdir()
    for repo, reason in (
        (str(tmp_path / "missing"), "no such directory on the server"),
        (str(tmp_path / "plain"), "does not appear to be a git repository"),
    ):
        page = client.post("/projects", data={**FORM, "repo_url": repo, "csrf_token": csrf})
        assert page.status_code == 422
        assert reason in field_errors(page.text)["repo_url"]
    assert "Blog" not in client.get("/projects").text
    made = client.post(
        "/projects",
        data={**FORM, "repo_url": str(make_repo(tmp_path / "blog")), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text


def test_the_api_refuses_a_missing_repository_and_an_absent_image(
    client: TestClient, two_teams: TwoTeams, tmp_path: Path
) -> None:
    headers = {"Authorization": f"Bearer {two_teams.alice.token}"}
    body = {"name": "Api", "start_command": "python3 app.py"}
    missing = client.post(
        "/api/v1/projects", json={**body, "repo_url": str(tmp_path / "x")}, headers=headers
    )
    assert missing.status_code == 422
    expected = f"repo_url: no such directory on the server: {tmp_path / 'x'}"
    assert missing.json()["detail"] == expected
    repo = str(make_repo(tmp_path / "api"))
    node = client.post(
        "/api/v1/projects",
        json={**body, "repo_url": repo, "runner_image": "node:22-bookworm-slim"},
        headers=headers,
    )
    assert node.status_code == 422
    assert "node:22-bookworm-slim is not available on this host" in node.json()["detail"]
    assert "devpush/runner-python:local" in node.json()["detail"]
    ok = client.post("/api/v1/projects", json={**body, "repo_url": repo}, headers=headers)
    assert ok.status_code == 201, ok.text


def test_the_cli_says_why_a_project_was_refused(
    live_url: str, two_teams: TwoTeams, tmp_path: Path
) -> None:
    env = {
        CONFIG_ENV: str(tmp_path / "cli.json"),
        "DEVPUSH_URL": live_url,
        "DEVPUSH_TOKEN": two_teams.alice.token,
        "COLUMNS": "300",
    }
    argv = ["projects", "create", "--name", "Cli", "--start-command", "python3 app.py"]
    refused = CliRunner().invoke(cli, [*argv, "--repo", str(tmp_path / "gone")], env=env)
    assert refused.exit_code == 1
    assert "no such directory on the server" in refused.output
    made = CliRunner().invoke(cli, [*argv, "--repo", str(make_repo(tmp_path / "cli"))], env=env)
    assert made.exit_code == 0, made.output
    assert "devpush deploy cli" in made.output


def test_only_images_the_host_has_are_offered(client: TestClient, alice: Member) -> None:
    page = client.get("/projects/new").text
    offered = re.findall(r'<option value="([^"]+)"></option>', page)
    present = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert offered[0].startswith("devpush/runner-")
    assert "devpush/runner-python:local" in offered
    assert "node:22-bookworm-slim" not in offered
    assert set(offered) <= set(present)


def test_form_errors_are_plain_words_next_to_marked_fields(client: TestClient, csrf: str) -> None:
    form = client.get("/projects/new").text
    for name in ("name", "repo_url", "start_command", "port"):
        label = re.search(rf'<label for="f-{name}">(.*?)</label>', form, re.S)
        assert label and 'class="required"' in label.group(1), name
        assert re.search(rf'id="f-{name}"[^>]* required', form), name
    assert 'class="required"' not in re.search(r'<label for="f-slug">(.*?)</label>', form).group(1)

    bad = {**FORM, "name": "", "repo_url": "", "start_command": "", "port": "abc"}
    page = client.post("/projects", data={**bad, "csrf_token": csrf})
    assert page.status_code == 422
    errors = field_errors(page.text)
    assert errors["name"] == "This field is required."
    assert errors["repo_url"] == "This field is required."
    assert errors["start_command"] == "This field is required."
    assert errors["port"] == "Enter a whole number."
    assert "String should have" not in page.text
    assert "Input should be" not in page.text
    # Each message sits with its field and is tied to it.
    assert re.search(r'id="f-name"[^>]*aria-describedby="error-name"', page.text)


def _has_navigation(html: str, email: str) -> bool:
    return "<nav>" in html and 'href="/settings/tokens"' in html and email in html


def test_error_pages_keep_the_layout_and_navigation(
    client: TestClient, alice: Member, csrf: str
) -> None:
    missing = client.get("/projects/no-such-project")
    assert missing.status_code == 404
    assert _has_navigation(missing.text, "alice@example.org")
    assert "Not found" in missing.text

    forbidden = client.post("/projects", data={**FORM, "csrf_token": "wrong"})
    assert forbidden.status_code == 403
    assert _has_navigation(forbidden.text, "alice@example.org")

    slug = alice.project_slug
    invalid = client.get(f"/projects/{slug}/logs", params={"range": "x" * 40})
    assert invalid.status_code == 422
    assert _has_navigation(invalid.text, "alice@example.org")
    assert "range" in invalid.text and "at most 16 characters" in invalid.text
    assert csrf

    # Signed out: the same page, without a user's navigation.
    client.post("/logout", data={"csrf_token": csrf})
    anonymous = client.get("/no-such-page")
    assert anonymous.status_code == 404
    assert "<nav>" not in anonymous.text and "Not found" in anonymous.text


def test_a_temp_path_is_not_mistaken_for_a_repository() -> None:
    # A directory inside a repository is not a repository of its own.
    with tempfile.TemporaryDirectory() as outer:
        inner = make_repo(Path(outer) / "repo") / "sub"
        inner.mkdir()
        assert repository_problem(str(inner)) is not None


def test_kept_builds_are_never_offered_nor_accepted_as_runner_images(
    client: TestClient, two_teams: TwoTeams, docker_client: docker.DockerClient
) -> None:
    # A kept build holds one project's code and variables; its name, another team's ids.
    build = f"{BUILD_REPOSITORY}/{two_teams.bob.project_id}:{two_teams.bob.deployment_id}"
    docker_client.images.get("devpush/busybox:local").tag(build)
    try:
        log_in(client, "alice@example.org")
        page = client.get("/projects/new").text
        assert BUILD_REPOSITORY not in page
        assert two_teams.bob.project_id not in page
        answer = client.patch(
            f"/api/v1/projects/{two_teams.alice.project_id}",
            json={"runner_image": build},
            headers={"Authorization": f"Bearer {two_teams.alice.token}"},
        )
        assert answer.status_code == 422, answer.text
        assert "is not available on this host" in answer.text
    finally:
        docker_client.images.remove(build)
