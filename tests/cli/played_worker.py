"""The worker's part played by a thread, for the CLI tests of commands that follow a
deployment (``devpush deploy``, ``devpush rollback``) against the served app with no worker:
the deployment moves through the deploy service's own ``transition`` once the CLI has read
each status."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from devpush.deps import ApiTeamIds, SessionDep, api_deployment
from devpush.models import Deployment, DeploymentStatus
from devpush.services.deployments import transition
from devpush.workers.queue import DeployQueue
from tests.fixtures.web import pending


def _wait_for(condition: Callable[[], bool], what: str, *, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _served_statuses(web_app: FastAPI) -> list[DeploymentStatus]:
    """The status of every deployment the API serves from now on, in order."""
    served: list[DeploymentStatus] = []

    def recording(deployment_id: str, team_ids: ApiTeamIds, session: SessionDep) -> Deployment:
        deployment = api_deployment(deployment_id, team_ids, session)
        served.append(deployment.status)
        return deployment

    web_app.dependency_overrides[api_deployment] = recording
    return served


def _play_worker(
    sessions: sessionmaker[Session],
    queue: DeployQueue,
    served: list[DeploymentStatus],
    *,
    before: int,
    fail: bool,
) -> threading.Thread:
    """Once the CLI's deploy is enqueued, move it to building; once the CLI has read
    that, to running or failed."""

    def run() -> None:
        _wait_for(lambda: len(pending(queue)) > before, "the deploy to be enqueued")
        _, (deployment_id,) = pending(queue)[-1]
        with sessions() as session:
            transition(
                session,
                deployment_id=deployment_id,
                to=DeploymentStatus.BUILDING,
                commit_sha="0123456789abcdef0123456789abcdef01234567",
            )
            session.commit()
            _wait_for(lambda: DeploymentStatus.BUILDING in served, "the CLI to read building")
            if fail:
                transition(
                    session,
                    deployment_id=deployment_id,
                    to=DeploymentStatus.FAILED,
                    exit_code=2,
                    error="build command failed",
                )
            else:
                transition(
                    session,
                    deployment_id=deployment_id,
                    to=DeploymentStatus.RUNNING,
                    host_port=43210,
                )
            session.commit()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread
