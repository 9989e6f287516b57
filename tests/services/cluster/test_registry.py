"""The registry's pure parts: the setting, the builds' names, the push stream's error, and
the service spec of a task whose image holds the app."""

from __future__ import annotations

import dataclasses

import pytest

from devpush.core.config import Settings
from devpush.services import runner
from devpush.services.cluster import registry
from devpush.services.cluster.runner_services import SOURCE_TOKEN_ENV, runner_service_spec


def spec(*, image_workdir: bool = False) -> runner.RunnerSpec:
    return runner.RunnerSpec(
        deployment_id="d" * 32,
        project_id="p" * 32,
        environment_id="e",
        branch="main",
        commit_sha="abc",
        image="10.0.0.1:5000/devpush/p:d",
        port=8000,
        image_workdir=image_workdir,
    )


def test_a_build_is_named_in_the_registry_per_project_and_deployment() -> None:
    name = registry.image_name("10.0.0.1:5000", project_id="p1", deployment_id="d1")
    assert name == "10.0.0.1:5000/devpush/p1:d1"
    assert registry.in_registry("10.0.0.1:5000", name)
    assert not registry.in_registry("10.0.0.1:5001", name)
    assert not registry.in_registry("", name)
    assert not registry.in_registry("10.0.0.1:5000", "devpush-build/p1:d1")


@pytest.mark.parametrize(
    "value", ["registry.internal:5000", "10.0.0.1:5000", " 10.0.0.1:443 ", "a:1"]
)
def test_the_setting_is_host_and_port(value: str) -> None:
    assert registry.registry_address(value) == value.strip()


@pytest.mark.parametrize(
    "value",
    ["", "10.0.0.1", "http://10.0.0.1:5000", "10.0.0.1:5000/x", "host:0", "host:70000", "-h:1"],
)
def test_anything_else_is_refused_naming_the_setting(value: str) -> None:
    with pytest.raises(ValueError, match="DEVPUSH_SWARM_REGISTRY must be host:port"):
        registry.registry_address(value)


def test_the_refusal_without_a_registry_names_the_setting() -> None:
    assert registry.SETTING in registry.NO_REGISTRY


def test_a_push_fails_inside_the_stream() -> None:
    assert registry.push_error([{"status": "Pushed"}, {"status": "d1: digest: sha256:…"}]) is None
    assert (
        registry.push_error(
            [{"status": "Preparing"}, {"errorDetail": {"message": "refused"}, "error": "refused\n"}]
        )
        == "refused"
    )
    assert registry.push_error([{"errorDetail": {"message": "no route"}}]) == "no route"


def test_a_task_whose_image_holds_the_app_runs_its_script_in_the_images_workdir() -> None:
    kwargs = runner_service_spec(
        spec=spec(image_workdir=True),
        environment={"PORT": "8000"},
        settings=Settings(),
        script="#!/bin/sh\nexec sh -c 'python3 app.py'\n",
    )
    container = kwargs["task_template"]["ContainerSpec"]
    assert container["Command"] == ["/bin/sh", "-c", "#!/bin/sh\nexec sh -c 'python3 app.py'\n"]
    assert "Dir" not in container
    assert container["Image"] == "10.0.0.1:5000/devpush/p:d"
    assert not any(item.startswith(SOURCE_TOKEN_ENV) for item in container["Env"])


def test_a_task_that_fetches_its_source_works_in_the_checkout() -> None:
    kwargs = runner_service_spec(
        spec=dataclasses.replace(spec(), root_directory="web"),
        environment={},
        settings=Settings(),
        source_url="http://10.0.0.1:1/source",
        source_token="t",
    )
    container = kwargs["task_template"]["ContainerSpec"]
    assert container["Dir"] == "/app/web"
    assert f"{SOURCE_TOKEN_ENV}=t" in container["Env"]


def test_a_task_needs_its_source_or_its_script() -> None:
    with pytest.raises(ValueError, match="source's address or its script"):
        runner_service_spec(spec=spec(), environment={}, settings=Settings())
