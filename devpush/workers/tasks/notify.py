"""The notify job: a deployment's end, sent to its project's channels.

The deploy job (and the reconcile job) call :func:`announce` once a deployment failed or
became running; the queue then runs :func:`run_notify`, which tries every channel that
wants the event once and records each attempt. A try that may succeed later (a
connection error, a timeout, a 5xx or 429 answer) is scheduled again on the queue, after
``notification_retry_seconds * 2^(n-1)``, up to ``notification_max_attempts`` tries, with
the same delivery id: no worker thread waits in between. A channel's failure touches
neither the deployment nor the other channels.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace

from cryptography.fernet import Fernet

from devpush.core.crypto import fernet_for
from devpush.core.db import session_scope
from devpush.models import Deployment, NotificationChannel
from devpush.services.jobs import Notice
from devpush.services.notifications import delivery as sending
from devpush.services.notifications import messages
from devpush.services.notifications.channels import list_channels
from devpush.workers.tasks.context import WorkerContext

log = logging.getLogger(__name__)


def announce(ctx: WorkerContext, deployment_id: str, event: str) -> None:
    """Enqueue the notify job; a queue error is logged, never the deployment's problem."""
    if ctx.jobs is None:
        return
    try:
        ctx.jobs.enqueue_notify(Notice(deployment_id, event))
    except Exception:
        log.exception("deployment %s: the notify job was not enqueued", deployment_id)


def wants(channel: NotificationChannel, event: str) -> bool:
    if event == messages.FAILED:
        return channel.on_failure
    if event == messages.SUCCEEDED:
        return channel.on_success
    return False


def retry_delay(ctx: WorkerContext, attempt: int) -> float:
    """The pause before try ``attempt + 1``: doubled after each try."""
    return float(ctx.settings.notification_retry_seconds * 2 ** (attempt - 1))


def run_notify(notice: Notice, *, ctx: WorkerContext) -> None:
    """The huey task body: the first try at every channel, or try ``attempt`` at one."""
    with ctx.sessions() as session:
        deployment = session.get(Deployment, notice.deployment_id)
        if deployment is None:
            log.info("deployment %s is gone: nothing to notify", notice.deployment_id)
            return
        message = messages.event_of(deployment, event=notice.event, settings=ctx.settings)
        if notice.channel_id is None:
            channels = [
                channel
                for channel in list_channels(session, project_id=deployment.project_id)
                if wants(channel, notice.event)
            ]
        else:  # a retry: the channel may have been removed meanwhile
            found = session.get(NotificationChannel, notice.channel_id)
            same_project = found is not None and found.project_id == message.project_id
            channels = [found] if found is not None and same_project else []
    fernet = fernet_for(ctx.settings.secret_key.get_secret_value())
    for channel in channels:
        delivery = notice.delivery or uuid.uuid4().hex
        _try(ctx, channel, message, notice, delivery=delivery, fernet=fernet)


def _try(
    ctx: WorkerContext,
    channel: NotificationChannel,
    message: messages.DeployEvent,
    notice: Notice,
    *,
    delivery: str,
    fernet: Fernet,
) -> None:
    """One try at one channel: recorded, and scheduled again if another may succeed."""
    attempt = notice.attempt
    result = sending.send(channel, message, delivery=delivery, settings=ctx.settings, fernet=fernet)
    try:
        with session_scope(ctx.sessions) as session:
            sending.record(
                session,
                channel_id=channel.id,
                deployment_id=message.deployment_id,
                attempt=attempt,
                result=result,
            )
    except Exception:  # the channel was removed meanwhile (its attempts go with it)
        log.exception("notification channel %s: attempt %d not recorded", channel.id, attempt)
        return
    if result.ok:
        return
    last = attempt >= ctx.settings.notification_max_attempts
    log.warning(
        "notification channel %s, deployment %s: try %d failed (%s)%s",
        channel.id,
        message.deployment_id,
        attempt,
        result.error,
        "" if result.retry and not last else ", not retried",
    )
    if result.retry and not last and ctx.jobs is not None:
        retry = replace(notice, channel_id=channel.id, attempt=attempt + 1, delivery=delivery)
        ctx.jobs.enqueue_notify(retry, delay=retry_delay(ctx, attempt))
