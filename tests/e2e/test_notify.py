"""A real failed deploy notifies every kind of channel: a signed webhook and a Slack
message to a real HTTP server on loopback, an e-mail to a real SMTP server (aiosmtpd).

The deploy job runs as in tests/e2e/test_deploy.py (real git, real Docker runner); it
enqueues the notify job on a real SQLite huey queue, run as the worker runs it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import pytest
from sqlalchemy import select

from devpush.core.crypto import fernet_for
from devpush.models import DeploymentStatus, NotificationAttempt, NotificationKind, Project
from devpush.services.notifications.channels import ChannelCreate, create_channel
from devpush.services.notifications.senders import signature
from devpush.workers.queue import DeployQueue, huey_from_url
from devpush.workers.tasks.deploy import run_deploy
from tests.e2e.support import Stack, queue_deployment
from tests.utils.notify import (
    HttpReceiver,
    SmtpReceiver,
    drain,
    text_of,
)

pytestmark = pytest.mark.docker

BUILD = 'for i in $(seq 1 60); do echo "compiling $i"; done; echo "<boom> & done"; exit 2'


def test_a_failed_build_notifies_every_kind_and_a_running_one_the_success_channel(
    make_stack: Callable[..., Stack],
    sqlite_url: str,
    receiver: HttpReceiver,
    smtp: SmtpReceiver,
) -> None:
    stack = make_stack(sqlite_url, build_command=BUILD)
    settings = stack.settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "none"}
    )
    queue = DeployQueue(huey_from_url(settings.queue_url))
    ctx = replace(stack.ctx, settings=settings, jobs=queue)
    fernet = fernet_for(settings.secret_key.get_secret_value())
    with stack.sessions() as session:
        project = session.get(Project, stack.project_id)
        assert project is not None
        _, secret = create_channel(
            session,
            project=project,
            data=ChannelCreate(kind=NotificationKind.WEBHOOK, target=f"{receiver.url}/hook"),
            fernet=fernet,
        )
        for kind, target in (
            (NotificationKind.SLACK, f"{receiver.url}/slack"),
            (NotificationKind.EMAIL, "ops@example.org"),
        ):
            create_channel(
                session,
                project=project,
                data=ChannelCreate(kind=kind, target=target),
                fernet=fernet,
            )
        success_only = ChannelCreate(
            kind=NotificationKind.WEBHOOK,
            target=f"{receiver.url}/ok",
            on_failure=False,
            on_success=True,
        )
        _, success_secret = create_channel(
            session, project=project, data=success_only, fernet=fernet
        )
    assert secret is not None
    deployment_id = queue_deployment(stack)

    run_deploy(deployment_id, ctx=ctx)
    deployment = stack.wait_for(deployment_id, {DeploymentStatus.FAILED}, timeout=1)
    assert deployment.error == "Build exited with code 2"

    def sent(deployment_id: str) -> list[NotificationAttempt]:
        with stack.sessions() as session:
            return list(
                session.scalars(
                    select(NotificationAttempt).where(
                        NotificationAttempt.deployment_id == deployment_id
                    )
                )
            )

    drain(queue.huey, ctx, until=lambda: len(sent(deployment_id)) == 3)
    assert [(a.ok, a.attempt, a.error) for a in sent(deployment_id)] == [(True, 1, "")] * 3
    last_lines = [*(f"compiling {i}" for i in range(12, 61)), "<boom> & done"]

    (hook,) = receiver.on("/hook")
    assert hook.headers["X-Devpush-Signature"] == signature(secret, hook.body)
    assert hook.headers["X-Devpush-Event"] == "deployment.failed"
    assert hook.headers["User-Agent"] == "devpush"
    assert len(hook.headers["X-Devpush-Delivery"]) == 32
    body = json.loads(hook.body)
    assert body["failure"] == {"step": "build", "exit_code": 2, "lines": last_lines}
    assert body["error"] == "Build exited with code 2"
    assert body["project"] == {"id": stack.project_id, "name": "Hello"}
    assert body["environment"] == "production"
    assert body["deployment"]["id"] == deployment_id
    assert body["deployment"]["status"] == "failed"
    assert body["deployment"]["commit"] == deployment.commit_sha
    assert body["deployment"]["trigger"] == "manual"

    (slack,) = receiver.on("/slack")
    message = json.loads(slack.body)
    assert "deploy failed at Build (exit 2)" in message["text"]
    code = message["blocks"][-1]["text"]["text"]
    assert code.startswith("```\n") and code.endswith(
        "\ncompiling 60\n&lt;boom&gt; &amp; done\n```"
    )
    assert "X-Devpush-Signature" not in slack.headers

    (mail,) = smtp.messages
    assert mail["Subject"] == "[devpush] Hello production: deploy failed at Build (exit 2)"
    assert mail["To"] == "ops@example.org"
    text = text_of(mail)
    assert "Step: Build" in text
    assert "Exit code: 2" in text
    assert text.endswith("compiling 60\n<boom> & done\n")

    # The success-only channel heard nothing of the failure; a fixed build that becomes
    # running reaches it (and only it).
    assert receiver.on("/ok") == []
    stack.update_project(build_command="python3 build.py")
    fixed_id = queue_deployment(stack)
    run_deploy(fixed_id, ctx=ctx)
    fixed = stack.wait_for(fixed_id, {DeploymentStatus.RUNNING}, timeout=1)
    drain(queue.huey, ctx, until=lambda: len(sent(fixed_id)) == 1)
    (ok,) = receiver.on("/ok")
    assert ok.headers["X-Devpush-Signature"] == signature(str(success_secret), ok.body)
    running = json.loads(ok.body)
    assert running["event"] == "deployment.succeeded"
    assert running["deployment"]["id"] == fixed_id
    assert running["deployment"]["commit"] == fixed.commit_sha
    assert running["deployment"]["url"].startswith("http://")
    assert len(receiver.on("/hook")) == len(receiver.on("/slack")) == len(smtp.messages) == 1
