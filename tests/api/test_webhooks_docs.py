"""docs/git.md's generic-form example, run as written (bash, openssl, curl) against the app."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.web import TwoTeams, deployment_of
from tests.forges.hooks import SHA_A, create_hook

DOC = Path(__file__).parents[2] / "docs" / "git.md"


def _example() -> str:
    section = DOC.read_text().split("### The generic form", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match, "docs/git.md: no sh example in 'The generic form'"
    return match.group(1)


def test_the_documented_curl_example_deploys(
    live_url: str, two_teams: TwoTeams, sessions: sessionmaker[Session]
) -> None:
    for tool in ("bash", "curl", "openssl"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: the example needs it")
    alice = two_teams.alice
    with httpx.Client(base_url=live_url, timeout=10) as api:
        hook = create_hook(api, alice)
    # The commit a CI job would read with git rev-parse: a fixed one here.
    script = _example().replace("$(git rev-parse HEAD)", SHA_A)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env={
            "PATH": "/usr/bin:/bin",
            "BRANCH": "main",
            "CI_JOB_ID": "41",
            "DEVPUSH_WEBHOOK_URL": hook.url,
            "DEVPUSH_WEBHOOK_SECRET": hook.secret,
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    answer = json.loads(done.stdout)
    assert (answer["delivery"], answer["result"]) == ("ci-41", "deployed")
    assert deployment_of(sessions, answer["deployment_id"]).requested_commit == SHA_A
