"""The worker's health checks of running deployments, and the restarts they lead to.

A thread of the worker process (one per process, like ``store_watch``) looks every second
for running deployments whose project sets a check interval, and checks each one when
its interval has passed (``devpush.services.health.ask``: one GET). A pass makes it
``healthy``; ``failure_threshold`` failures in a row make it ``unhealthy`` and restart its
runner (the same container with a script that starts the app again without a build; its
route stays, refreshed once it is back; in swarm mode new tasks of its service, which
fetch the source again: ``devpush.workers.task_restart``, and the route follows them).
Failures within the grace period after a restart do not count. Restarts are bounded: at
most ``Settings.health_max_restarts`` within ``health_restart_window_seconds``; past that
it stays unhealthy and its last error says so. A runner found stopped (crashed, or
killed for its memory) is marked failed at once, as the reconcile job would a minute later.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from docker.models.containers import Container
from sqlalchemy import select

from devpush.core.db import session_scope
from devpush.models import Deployment, DeploymentStatus, HealthStatus, Project, utcnow
from devpush.services import health, networks, runner, runners
from devpush.services.notifications.messages import FAILED
from devpush.workers import task_restart
from devpush.workers.tasks.context import WorkerContext
from devpush.workers.tasks.notify import announce
from devpush.workers.tasks.reconcile import fail_stopped_runner
from devpush.workers.threads import start_thread

log = logging.getLogger(__name__)

#: How often the thread looks for checks that are due.
TICK_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Watched:
    """A running deployment with checks on, as one round reads it."""

    deployment_id: str
    project_id: str
    container_ref: str
    port: int
    start_command: str
    check: health.HealthCheck


class HealthWatch:
    """The checks of one worker process: when each is due, and which are starting again."""

    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self._due: dict[str, float] = {}
        # Restarted runners: until when their failures do not count (monotonic seconds).
        self._starting_until: dict[str, float] = {}

    def tick(self) -> None:
        """Check every deployment whose interval has passed."""
        watched = self.running()
        ids = {item.deployment_id for item in watched}
        self._due = {key: due for key, due in self._due.items() if key in ids}
        self._starting_until = {k: v for k, v in self._starting_until.items() if k in ids}
        for item in watched:
            now = time.monotonic()
            interval = item.check.interval_seconds or 0
            # A new one just passed its check before the switch: first check one interval on.
            due = self._due.setdefault(item.deployment_id, now + interval)
            if now < due:
                continue
            self._due[item.deployment_id] = now + interval
            try:
                self.check(item)
            except Exception:  # Docker or the database went away: the next round tries again
                log.exception("health check of deployment %s failed", item.deployment_id)

    def running(self) -> list[Watched]:
        """The running deployments whose project sets a check interval."""
        with self.ctx.sessions() as session:
            rows = session.execute(
                select(Deployment, Project)
                .join(Project, Deployment.project_id == Project.id)
                .where(
                    Deployment.status == DeploymentStatus.RUNNING,
                    Project.health_interval_seconds.is_not(None),
                )
            ).all()
            return [
                Watched(
                    deployment_id=deployment.id,
                    project_id=project.id,
                    container_ref=deployment.container_id or runner.container_name(deployment.id),
                    port=project.port,
                    start_command=project.start_command,
                    check=health.HealthCheck.of(project),
                )
                for deployment, project in rows
            ]

    def check(self, item: Watched) -> None:
        """Check one deployment now; record the answer; restart it when the policy says."""
        container = runners.get_runner(self.ctx.docker, self.ctx.settings, item.container_ref)
        restarting = time.monotonic() < self._starting_until.get(item.deployment_id, 0.0)
        if container is not None and container.status == "created" and restarting:
            return  # swarm mode: the new task a restart made is not placed yet
        if container is None or container.status != "running":
            if fail_stopped_runner(self.ctx, item.deployment_id, container):
                announce(self.ctx, item.deployment_id, FAILED)
            return
        answer = self._ask(item, container)
        reason = self._record(item, answer)
        if reason is not None:
            self._restart(item, container, reason)

    def _ask(self, item: Watched, container: Container) -> health.Answer:
        url = runner.ready_url(
            container,
            item.port,
            via=self.ctx.settings.runner_address,
            network=networks.network_of(container, self.ctx.settings, item.project_id),
        )
        if url is None:
            return health.Answer(error="the runner has no address on its network")
        return health.ask(self.ctx.settings, url, item.check.path)

    def _record(self, item: Watched, answer: health.Answer) -> str | None:
        """Store what the check saw; the reason to restart, when the policy restarts."""
        settings, check = self.ctx.settings, item.check
        with session_scope(self.ctx.sessions) as session:
            deployment = session.get(Deployment, item.deployment_id)
            if deployment is None or deployment.status is not DeploymentStatus.RUNNING:
                return None
            deployment.health_checked_at = now = utcnow()
            if check.passes(answer):
                deployment.health_status = HealthStatus.HEALTHY
                deployment.health_failures = 0
                deployment.health_error = None
                self._starting_until.pop(item.deployment_id, None)
                return None
            deployment.health_error = f"{check.what}: {answer.describe()}"
            if time.monotonic() < self._starting_until.get(item.deployment_id, 0.0):
                return None  # restarted a moment ago: still within its grace period
            deployment.health_failures += 1
            if deployment.health_failures < check.failure_threshold:
                return None
            deployment.health_status = HealthStatus.UNHEALTHY
            window = timedelta(seconds=settings.health_restart_window_seconds)
            recent = health.recent_restarts(
                deployment.health_restart_times or [], now=now, window=window
            )
            if not health.may_restart(
                recent, now=now, window=window, most=settings.health_max_restarts
            ):
                deployment.health_error += (
                    f"; not restarted again: {len(recent)} restarts within"
                    f" {settings.health_restart_window_seconds} s, the most allowed"
                )
                return None
            deployment.health_restart_times = [*recent, now.isoformat()]
            deployment.health_restarts += 1
            deployment.health_failures = 0
            return (
                f"the health check {check.what} failed {check.failure_threshold} times"
                f" in a row ({answer.describe()})"
            )

    def _note(self, item: Watched, text: str) -> None:
        """Add ``text`` to the deployment's last health error."""
        with session_scope(self.ctx.sessions) as session:
            deployment = session.get(Deployment, item.deployment_id)
            if deployment is not None:
                deployment.health_error = "; ".join(filter(None, [deployment.health_error, text]))

    def _start_command(self, item: Watched, container: Container) -> str:
        """The project's start command; none set (a Dockerfile build): its image's CMD."""
        if item.start_command.strip():
            return item.start_command
        image = str(container.attrs.get("Config", {}).get("Image", ""))
        return runner.image_start_command(runner.image_config(self.ctx.docker, image))

    def _restart(self, item: Watched, container: Container, reason: str) -> None:
        settings = self.ctx.settings
        log.warning("deployment %s: restarting its runner: %s", item.deployment_id, reason)
        grace = item.check.grace_seconds or settings.runner_ready_timeout_seconds
        self._starting_until[item.deployment_id] = time.monotonic() + grace
        if settings.swarm:  # a task's container is on its host: new tasks of its service
            try:
                task_restart.restart_task(
                    self.ctx, item.deployment_id, item.container_ref, reason=reason
                )
            except task_restart.RestartFailed as exc:
                log.warning("deployment %s: restart failed: %s", item.deployment_id, exc)
                self._note(item, f"the restart failed: {exc}")
        else:
            runner.restart_container(
                container,
                script=runner.restart_script(
                    start=self._start_command(item, container), reason=reason
                ),
                timeout=settings.runner_stop_timeout_seconds,
            )
        self._due[item.deployment_id] = time.monotonic() + (item.check.interval_seconds or 0)
        with self.ctx.sessions() as session:
            status = session.scalar(
                select(Deployment.status).where(Deployment.id == item.deployment_id)
            )
        if status is not DeploymentStatus.RUNNING:
            # Stopped or superseded while it restarted: it must not run on.
            runners.stop_runner(self.ctx.docker, settings, item.container_ref)
            return
        # The same container, maybe another address on its network (a new task in swarm
        # mode: its own address on the overlay): the route follows it.
        self.ctx.proxy_table.refresh(self.ctx, settle=False)


def watch(checks: HealthWatch, stop: threading.Event) -> None:
    """Run rounds until ``stop`` is set; a failed round is logged and tried again."""
    while not stop.wait(TICK_SECONDS):
        try:
            checks.tick()
        except Exception:  # the database went away mid-round
            log.exception("health checks failed; retrying")


def start_health_watch(ctx: WorkerContext) -> threading.Event:
    """Start the checks in a daemon thread; set the returned event to stop them."""
    return start_thread("health-watch", partial(watch, HealthWatch(ctx)))
