"""The notify job against real receivers on loopback: retries, back-off, no retry on 4xx.

Deployments are rows here (no runner); the job runs as the worker runs it, from a real
SQLite huey queue (``tests/utils/notify.py``'s ``drain``), with the real senders.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devpush.core.config import Settings
from devpush.core.crypto import fernet_for
from devpush.models import (
    DeploymentStatus,
    DeployStep,
    NotificationAttempt,
    NotificationChannel,
    NotificationKind,
    Project,
)
from devpush.services.deployments import transition
from devpush.services.jobs import Notice
from devpush.services.notifications.channels import ChannelCreate, create_channel
from devpush.services.notifications.messages import FAILED, SUCCEEDED
from devpush.services.notifications.senders import signature
from devpush.workers.queue import DeployQueue, huey_from_url
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.tasks.notify import announce
from devpush_dev.ports import free_port
from tests.fixtures.db import add_deployment, rows_of
from tests.utils.notify import (
    HttpReceiver,
    SmtpReceiver,
    drain,
    text_of,
)

SECRET_KEY = "notify-tests-secret-key"
RETRY_SECONDS = 0.3


pytestmark = pytest.mark.both_databases


@pytest.fixture
def ctx(sessions: sessionmaker[Session], db_url: str, tmp_path: Path) -> WorkerContext:
    settings = Settings(
        database_url=db_url,
        queue_url=f"sqlite:///{tmp_path / 'queue.sqlite3'}",
        secret_key=SecretStr(SECRET_KEY),
        notification_retry_seconds=RETRY_SECONDS,
        notification_max_attempts=3,
        notification_timeout_seconds=5,
    )
    queue = DeployQueue(huey_from_url(settings.queue_url))
    # The notify job needs no Docker.
    return WorkerContext(settings=settings, sessions=sessions, docker=cast(Any, None), jobs=queue)


def huey_of(ctx: WorkerContext) -> Any:
    return cast(DeployQueue, ctx.jobs).huey


def add_channel(
    session: Session, project: Project, kind: NotificationKind, target: str, **flags: bool
) -> tuple[str, str | None]:
    data = ChannelCreate(kind=kind, target=target, **flags)
    channel, secret = create_channel(
        session, project=project, data=data, fernet=fernet_for(SECRET_KEY)
    )
    return channel.id, secret


def failed_deployment(session: Session, project: Project) -> str:
    deployment_id = add_deployment(session, project, DeploymentStatus.BUILDING)
    transition(
        session,
        deployment_id=deployment_id,
        to=DeploymentStatus.FAILED,
        error="Build exited with code 2",
        failure_step=DeployStep.BUILD,
        exit_code=2,
        failure_lines=["npm ERR! missing script: build", "<b>&amp;</b>"],
    )
    session.commit()
    return deployment_id


def attempts(sessions: sessionmaker[Session], channel_id: str) -> list[NotificationAttempt]:
    of_channel = select(NotificationAttempt).where(NotificationAttempt.channel_id == channel_id)
    return rows_of(sessions, of_channel.order_by(NotificationAttempt.attempt))


def test_a_503_receiver_is_retried_with_back_off_until_it_answers(
    ctx: WorkerContext, session: Session, project: Project, receiver: HttpReceiver
) -> None:
    receiver.script["/hook"] = [503, 503]
    channel_id, secret = add_channel(
        session, project, NotificationKind.WEBHOOK, f"{receiver.url}/hook"
    )
    assert secret is not None
    deployment_id = failed_deployment(session, project)

    announce(ctx, deployment_id, FAILED)
    drain(huey_of(ctx), ctx, until=lambda: len(attempts(ctx.sessions, channel_id)) == 3)

    tries = attempts(ctx.sessions, channel_id)
    assert [(a.attempt, a.ok, a.status_code) for a in tries] == [
        (1, False, 503),
        (2, False, 503),
        (3, True, 200),
    ]
    assert tries[0].error.startswith("the receiver answered 503")
    assert {a.deployment_id for a in tries} == {deployment_id}
    calls = receiver.on("/hook")
    assert len(calls) == 3
    # One delivery id across the retries; each body signed with the channel's secret.
    assert len({call.headers["X-Devpush-Delivery"] for call in calls}) == 1
    for call in calls:
        assert call.headers["X-Devpush-Signature"] == signature(secret, call.body)
        assert call.headers["X-Devpush-Event"] == FAILED
    # Back-off: the pause doubles (retry_seconds, then twice that).
    assert calls[1].at - calls[0].at >= RETRY_SECONDS
    assert calls[2].at - calls[1].at >= 2 * RETRY_SECONDS
    assert huey_of(ctx).pending_count() == huey_of(ctx).scheduled_count() == 0


def test_a_receiver_that_is_down_then_up_gets_the_message(
    ctx: WorkerContext, session: Session, project: Project, receiver: HttpReceiver
) -> None:
    down = free_port()  # bound and closed: connections are refused
    channel_id, _ = add_channel(
        session, project, NotificationKind.SLACK, f"http://127.0.0.1:{down}/services/T/B/x"
    )
    deployment_id = failed_deployment(session, project)

    announce(ctx, deployment_id, FAILED)
    drain(huey_of(ctx), ctx, until=lambda: len(attempts(ctx.sessions, channel_id)) == 1)
    first = attempts(ctx.sessions, channel_id)[0]
    assert (first.ok, first.status_code) == (False, None)
    assert "ConnectError" in first.error
    assert str(down) not in first.error  # the URL (a Slack secret) is not in the error
    assert huey_of(ctx).pending_count() + huey_of(ctx).scheduled_count() == 1

    # The receiver comes up where the channel points; the scheduled retry reaches it.
    channel = session.get(NotificationChannel, channel_id)
    assert channel is not None
    channel.target = f"{receiver.url}/slack"
    session.commit()
    drain(huey_of(ctx), ctx, until=lambda: len(attempts(ctx.sessions, channel_id)) == 2)
    assert [a.ok for a in attempts(ctx.sessions, channel_id)] == [False, True]
    assert "text" in json.loads(receiver.on("/slack")[0].body)


def test_a_4xx_answer_is_not_retried(
    ctx: WorkerContext, session: Session, project: Project, receiver: HttpReceiver
) -> None:
    receiver.script["/gone"] = [404]
    channel_id, _ = add_channel(session, project, NotificationKind.WEBHOOK, f"{receiver.url}/gone")
    deployment_id = failed_deployment(session, project)

    announce(ctx, deployment_id, FAILED)
    drain(huey_of(ctx), ctx, until=lambda: len(attempts(ctx.sessions, channel_id)) == 1)

    assert [(a.ok, a.status_code) for a in attempts(ctx.sessions, channel_id)] == [(False, 404)]
    assert huey_of(ctx).pending_count() == huey_of(ctx).scheduled_count() == 0
    assert len(receiver.on("/gone")) == 1


def test_tries_stop_at_the_most_attempts(
    ctx: WorkerContext, session: Session, project: Project, receiver: HttpReceiver
) -> None:
    receiver.script["/busy"] = [429] * 10
    channel_id, _ = add_channel(session, project, NotificationKind.WEBHOOK, f"{receiver.url}/busy")
    deployment_id = failed_deployment(session, project)

    announce(ctx, deployment_id, FAILED)
    drain(huey_of(ctx), ctx, until=lambda: len(attempts(ctx.sessions, channel_id)) == 3)

    assert [a.status_code for a in attempts(ctx.sessions, channel_id)] == [429, 429, 429]
    assert huey_of(ctx).pending_count() == huey_of(ctx).scheduled_count() == 0


def test_a_success_only_channel_hears_of_running_deployments_only(
    ctx: WorkerContext, session: Session, project: Project, receiver: HttpReceiver
) -> None:
    down = free_port()
    broken_id, _ = add_channel(
        session, project, NotificationKind.WEBHOOK, f"http://127.0.0.1:{down}/x", on_success=True
    )
    success_id, secret = add_channel(
        session,
        project,
        NotificationKind.WEBHOOK,
        f"{receiver.url}/ok",
        on_failure=False,
        on_success=True,
    )
    failed_id = failed_deployment(session, project)
    announce(ctx, failed_id, FAILED)
    drain(huey_of(ctx), ctx, until=lambda: len(attempts(ctx.sessions, broken_id)) == 1)
    assert receiver.on("/ok") == []
    assert attempts(ctx.sessions, success_id) == []

    running_id = add_deployment(
        session, project, DeploymentStatus.BUILDING, DeploymentStatus.RUNNING
    )
    announce(ctx, running_id, SUCCEEDED)
    # The other channel's refused connection does not hold this one back.
    drain(huey_of(ctx), ctx, until=lambda: len(attempts(ctx.sessions, success_id)) == 1)
    (call,) = receiver.on("/ok")
    body = json.loads(call.body)
    assert body["event"] == SUCCEEDED
    assert body["deployment"]["id"] == running_id
    assert body["deployment"]["status"] == "running"
    assert body["deployment"]["url"].startswith("http")
    assert "failure" not in body
    assert call.headers["X-Devpush-Signature"] == signature(str(secret), call.body)


def test_the_queue_enqueues_a_first_try_and_schedules_a_retry() -> None:
    from huey import MemoryHuey

    queue = DeployQueue(MemoryHuey(immediate=False))
    queue.enqueue_notify(Notice("d1", FAILED))
    queue.enqueue_notify(Notice("d1", FAILED, channel_id="c1", attempt=2, delivery="x"), delay=30)
    first, retry = queue.huey.pending()
    assert (first.name, first.args, first.eta) == (
        "devpush.notify",
        ("d1", FAILED, None, 1, None),
        None,
    )
    assert (retry.name, retry.args) == ("devpush.notify", ("d1", FAILED, "c1", 2, "x"))
    assert retry.eta is not None and not queue.huey.ready_to_run(retry)


def test_smtp_replies_decide_the_retries(
    ctx: WorkerContext, session: Session, project: Project, smtp: SmtpReceiver
) -> None:
    smtp.mailbox.refuse = {
        "gone@example.org": "550 5.1.1 no such mailbox",
        "busy@example.org": "451 4.3.0 try again later",
    }
    settings = ctx.settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "smtp_security": "none",
            "smtp_from": "devpush@example.org",
        }
    )
    ctx = WorkerContext(settings=settings, sessions=ctx.sessions, docker=ctx.docker, jobs=ctx.jobs)
    ids = {
        address: add_channel(session, project, NotificationKind.EMAIL, address)[0]
        for address in ("ops@example.org", "gone@example.org", "busy@example.org")
    }
    deployment_id = failed_deployment(session, project)

    announce(ctx, deployment_id, FAILED)
    drain(
        huey_of(ctx), ctx, until=lambda: len(attempts(ctx.sessions, ids["busy@example.org"])) == 3
    )

    assert [(a.ok, a.status_code) for a in attempts(ctx.sessions, ids["ops@example.org"])] == [
        (True, 250)
    ]
    (gone,) = attempts(ctx.sessions, ids["gone@example.org"])
    assert (gone.ok, gone.status_code) == (False, 550)
    assert "no such mailbox" in gone.error
    busy = attempts(ctx.sessions, ids["busy@example.org"])
    assert [(a.ok, a.status_code) for a in busy] == [(False, 451)] * 3
    (mail,) = smtp.messages
    assert mail["From"] == "devpush@example.org"
    assert mail["Subject"] == "[devpush] Hello production: deploy failed at Build (exit 2)"
    assert "npm ERR! missing script: build" in text_of(mail)
