"""Dockerfile builds and rollbacks in swarm mode, through the registry devpush runs.

The worker's own jobs (``run_deploy`` with ``DEVPUSH_SWARM`` on) on the two-node test
swarm, with the proxy and its resolver of tests/e2e/test_swarm_deploy.py, and the
distribution registry (the pinned ``registry`` binary, devpush_dev/registry.py) on the
test bridge's address, which the nodes' engines take as an insecure registry: the worker
builds on the manager's engine, pushes the build there, and the task's host pulls it.
Node 2 runs meanwhile without ``DOCKER_SERVICE_PREFER_OFFLINE_IMAGE`` (with it, an engine
never pulls a task's image), and is restarted as it was after.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from devpush.models import Deployment, DeploymentStatus, DeployStep, Project
from devpush.services import runner
from devpush.services.cluster import registry
from devpush.services.rollback import rollback
from devpush.workers.tasks.deploy import run_deploy
from devpush_dev.engines import Engine, Swarm
from devpush_dev.ports import free_port
from devpush_dev.registry import Registry, start_registry
from tests.e2e.support import memory_queue
from tests.e2e.swarm_stack import (  # noqa: F401 (the stack fixture)
    SwarmStack,
    answer_of,
    stack,
)
from tests.utils.git import git

pytestmark = [pytest.mark.swarm, pytest.mark.docker]

DOCKERFILE = """\
FROM devpush/runner-python:local
WORKDIR /srv/site
COPY . .
RUN python3 build.py
CMD ["python3", "app.py"]
"""


@contextmanager
def pulling(swarm: Swarm, engine: Engine) -> Iterator[None]:
    """``engine`` restarted so that it pulls its tasks' images (the session's engines
    pull nothing: their images are loaded), and back as it was after."""
    swarm.stop_engine(engine)
    try:
        swarm.start_engine(engine, pulls=True)
        swarm.wait_ready(engine)
        yield
    finally:
        swarm.stop_engine(engine)
        swarm.start_engine(engine)
        swarm.wait_ready(engine)


@pytest.fixture
def test_registry(swarm: Swarm) -> Iterator[Registry]:
    """The registry on the bridge's address (every node reaches it), stopped after; node 2
    pulls from it meanwhile."""
    state = Path(tempfile.mkdtemp(prefix="devpush-registry-"))
    started = start_registry(state_dir=state, address=f"{swarm.gateway}:{free_port(swarm.gateway)}")
    try:
        with pulling(swarm, swarm.engines[1]):
            yield started
    finally:
        started.stop()
        shutil.rmtree(state, ignore_errors=True)
        # The nodes' data roots are kept between sessions: the builds they pulled go.
        for engine in swarm.engines:
            names = engine.docker("images", "--format", "{{.Repository}}:{{.Tag}}", check=False)
            pulled = [n for n in names.split() if n.startswith(f"{started.address}/")]
            if pulled:
                engine.docker("rmi", "-f", *pulled, check=False)


@pytest.fixture
def pushed(stack: SwarmStack, test_registry: Registry) -> SwarmStack:  # noqa: F811
    """The stack's worker with ``DEVPUSH_SWARM_REGISTRY`` set to the test registry."""
    return with_registry(stack, test_registry.address)


def with_registry(on: SwarmStack, address: str) -> SwarmStack:
    """``on`` with ``DEVPUSH_SWARM_REGISTRY`` set to ``address``."""
    settings = on.settings.model_copy(update={"swarm_registry": address})
    return dataclasses.replace(
        on, settings=settings, ctx=dataclasses.replace(on.ctx, settings=settings)
    )


def dockerfile_project(on: SwarmStack, placement: str) -> tuple[str, Path]:
    """A project building the example app from a Dockerfile, placed by ``placement``."""
    project_id = on.project("img", placement)
    with on.sessions() as session:
        project = session.get(Project, project_id)
        assert project is not None
        repo = Path(project.repo_url)
        project.build_from_dockerfile = True
        project.dockerfile_path = "Dockerfile"
        project.start_command = ""
        session.commit()
    (repo / "Dockerfile").write_text(DOCKERFILE)
    git(repo, "add", "Dockerfile")
    git(repo, "commit", "-q", "-m", "Build from a Dockerfile")
    return project_id, repo


def place(on: SwarmStack, project_id: str, placement: str) -> None:
    with on.sessions() as session:
        project = session.get(Project, project_id)
        assert project is not None
        project.placement_label = placement
        session.commit()


def test_a_dockerfile_build_runs_on_node_2_and_rolls_back_on_node_1(pushed: SwarmStack) -> None:
    node_1, node_2 = pushed.swarm.engines
    project_id, repo = dockerfile_project(pushed, "zone=two")

    v1_id, took = pushed.deploy(project_id)
    v1 = pushed.load(v1_id)
    assert v1.status is DeploymentStatus.RUNNING, v1.error
    print(f"swarm Dockerfile deploy on node 2 (build, push, pull): {took:.2f} s")
    assert pushed.node_of(v1) == node_2.node_id
    image = registry.image_name(
        pushed.settings.swarm_registry, project_id=project_id, deployment_id=v1_id
    )
    # The kept build is the pushed image, and node 2 pulled it from the registry.
    assert v1.build_image == image
    assert node_2.docker("image", "inspect", "--format", "{{.Id}}", image)
    served = answer_of(pushed, pushed.url_host(v1_id))
    assert served.status_code == 200, served.text[:200]
    assert served.text.startswith("Hello from devpush!")

    # v2 answers differently, on node 1.
    app_py = repo / "app.py"
    app_py.write_text(app_py.read_text().replace("Hello from devpush!", "Hi again from devpush!"))
    git(repo, "commit", "-q", "-am", "Say hi again")
    place(pushed, project_id, "zone=one")
    v2_id, _ = pushed.deploy(project_id)
    v2 = pushed.load(v2_id)
    assert v2.status is DeploymentStatus.RUNNING, v2.error
    assert pushed.node_of(v2) == node_1.node_id
    assert answer_of(pushed, pushed.url_host(v2_id)).text.startswith("Hi again from devpush!")
    assert pushed.load(v1_id).status is DeploymentStatus.SUPERSEDED

    # The manager's own copy of v1 goes: the rollback takes it from the registry.
    assert runner.remove_image(pushed.ctx.docker, image)
    with pushed.sessions() as session:
        project = session.get(Project, project_id)
        target = session.get(Deployment, v1_id)
        assert project is not None and target is not None
        back_id = rollback(
            session, project=project, target=target, created_by=None, queue=memory_queue()
        ).id
    started = time.monotonic()
    run_deploy(back_id, ctx=pushed.ctx)
    print(f"swarm rollback on node 1 (pulled again): {time.monotonic() - started:.2f} s")
    back = pushed.load(back_id)
    assert back.status is DeploymentStatus.RUNNING, back.error
    assert pushed.node_of(back) == node_1.node_id
    answer = answer_of(pushed, pushed.url_host(back_id))
    assert answer.status_code == 200 and answer.text.startswith("Hello from devpush!"), answer.text
    task = pushed.ctx.docker.api.inspect_service(back.container_id)
    assert task["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"].startswith(image)


def test_without_a_registry_a_dockerfile_build_is_refused_naming_the_setting(
    stack: SwarmStack,  # noqa: F811
) -> None:
    project_id, _ = dockerfile_project(stack, "zone=two")
    deployment_id, _ = stack.deploy(project_id)
    deployment = stack.load(deployment_id)
    assert deployment.status is DeploymentStatus.FAILED
    assert deployment.error is not None and registry.SETTING in deployment.error


def test_a_registry_that_is_not_there_fails_the_build_with_the_reason(
    stack: SwarmStack,  # noqa: F811
) -> None:
    address = f"{stack.swarm.gateway}:{free_port(stack.swarm.gateway)}"  # nothing listens
    gone = with_registry(stack, address)
    project_id, _ = dockerfile_project(gone, "zone=two")
    deployment_id, _ = gone.deploy(project_id)
    deployment = gone.load(deployment_id)
    assert deployment.status is DeploymentStatus.FAILED
    assert deployment.error is not None
    assert deployment.error.startswith("the registry did not take the build"), deployment.error
    assert deployment.failure_step is DeployStep.BUILD
