"""Posting a form as a browser does, and the new-project form filled in, for the web app's
tests."""

from __future__ import annotations

from fastapi.testclient import TestClient

#: The new-project form (tests/web/test_projects.py points ``repo_url`` at a real repository
#: before each of its tests).
FORM = {
    "name": "Blog",
    "slug": "",
    "repo_url": "https://git.example.org/blog.git",
    "default_branch": "main",
    "runner_image": "devpush/runner-python:local",
    "root_directory": "",
    "build_command": "pip install -r requirements.txt",
    "pre_deploy_command": "",
    "start_command": "python3 -m http.server $PORT",
    "port": "8080",
    "env_vars": "DATABASE_PASSWORD=very-secret-pw\n# comment\nDEBUG=0",
}


def redirected(client: TestClient, path: str, data: dict[str, str]) -> str:
    """Posts the form ``data`` to ``path``; the app answers 303 (see other): where it sends
    the browser next."""
    response = client.post(path, data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]
