"""Which runner services fetch their source: the health restart gives those a fresh
token, and starts the app again in the others (their image holds it)."""

from __future__ import annotations

from devpush.services.cluster.runner_services import SOURCE_URL_ENV, fetches_source


def _service(env: list[str]) -> dict[str, object]:
    return {"Spec": {"TaskTemplate": {"ContainerSpec": {"Env": env}}}}


def test_a_task_with_a_source_url_fetches_its_source() -> None:
    assert fetches_source(_service(["A=1", f"{SOURCE_URL_ENV}=http://10.0.0.1:9/source"]))


def test_a_task_of_a_built_image_does_not() -> None:
    assert not fetches_source(_service(["A=1", f"NOT_{SOURCE_URL_ENV}=x"]))
    assert not fetches_source({"Spec": {}})
