"""A runner service read as a container (pure parts): the task's status, exit code and
address; when a service's task ended; the spec's shared labels, log options and limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from devpush.core.config import Settings
from devpush.services import runner
from devpush.services.cluster.runner_services import (
    REPLICAS_LABEL,
    ended_at,
    newest_task,
    replicas_of,
    runner_service_spec,
    task_attrs,
    with_source,
)
from devpush.services.project_settings import ProjectUpdate

NETWORK = "devpush_runner-p"


def service(env: list[str] | None = None) -> dict[str, Any]:
    return {
        "ID": "svc1",
        "UpdatedAt": "2026-12-06T05:00:00.000000001Z",
        "Spec": {
            "Name": "devpush-runner-d",
            "Labels": {"devpush.project_id": "p"},
            "TaskTemplate": {
                "ContainerSpec": {
                    "Image": "devpush/runner-python:local",
                    "Env": env or ["PORT=8000"],
                    "Labels": {"devpush.role": "runner"},
                },
                "Resources": {"Limits": {"MemoryBytes": 268435456}},
            },
        },
    }


def task(state: str, *, exit_code: int = 0, address: str = "", at: str = "") -> dict[str, Any]:
    attachments = (
        [{"Network": {"Spec": {"Name": NETWORK}}, "Addresses": [f"{address}/24"]}]
        if address
        else []
    )
    return {
        "NodeID": "node2",
        "CreatedAt": at or "2026-12-06T05:00:01Z",
        "Status": {
            "State": state,
            "Timestamp": at or "2026-12-06T05:00:02Z",
            "ContainerStatus": {"ContainerID": "c1", "ExitCode": exit_code},
        },
        "NetworksAttachments": attachments,
    }


def test_a_running_task_reads_as_a_running_container_with_its_overlay_ip() -> None:
    attrs = task_attrs(service(), task("running", address="10.0.3.7"), NETWORK)
    assert attrs["Id"] == "svc1"
    assert attrs["Name"] == "/devpush-runner-d"
    assert attrs["State"]["Status"] == "running"
    assert attrs["NetworkSettings"]["Networks"] == {NETWORK: {"IPAddress": "10.0.3.7"}}
    assert attrs["Config"]["Env"] == ["PORT=8000"]
    assert attrs["HostConfig"]["Memory"] == 268435456
    assert attrs["Node"] == "node2"


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("new", "created"),
        ("pending", "created"),
        ("starting", "created"),
        ("running", "running"),
        ("complete", "exited"),
        ("failed", "exited"),
        ("shutdown", "exited"),
        ("rejected", "exited"),
    ],
)
def test_task_states_read_as_container_statuses(state: str, status: str) -> None:
    assert task_attrs(service(), task(state), NETWORK)["State"]["Status"] == status


def test_an_ended_task_keeps_its_exit_code_and_a_service_without_task_is_created() -> None:
    assert task_attrs(service(), task("failed", exit_code=3), NETWORK)["State"]["ExitCode"] == 3
    attrs = task_attrs(service(), None, NETWORK)
    assert attrs["State"]["Status"] == "created"
    assert attrs["NetworkSettings"]["Networks"] == {}


def test_the_newest_task_is_the_last_created() -> None:
    old, new = task("shutdown", at="2026-12-06T05:00:01Z"), task("running", at="2026-12-06T05:01Z")
    assert newest_task([new, old]) is new
    assert newest_task([]) is None


def test_a_service_ended_when_its_last_task_did() -> None:
    assert ended_at(service(), [task("running")]) is None
    assert ended_at(service(), [task("pending")]) is None
    ended = ended_at(service(), [task("shutdown", at="2026-12-06T05:10:00Z")])
    assert ended == datetime(2026, 12, 6, 5, 10, tzinfo=UTC)
    # Never started (made with no replica): when it was last changed.
    assert ended_at(service(), []) == datetime(2026, 12, 6, 5, 0, 0, 0, tzinfo=UTC)


def spec() -> runner.RunnerSpec:
    return runner.RunnerSpec(
        deployment_id="d" * 32,
        project_id="p" * 32,
        environment_id="e" * 32,
        branch="main",
        commit_sha="0" * 40,
        image="devpush/runner-python:local",
        port=8000,
        memory="256m",
        cpus=0.5,
    )


def test_the_service_and_the_container_share_labels_log_options_and_limits() -> None:
    settings = Settings(runner_log_max_size="5m", runner_log_max_file=2)
    container = runner.runner_container_spec(spec=spec(), environment={}, settings=settings)
    kwargs = runner_service_spec(
        spec=spec(),
        environment={},
        settings=settings,
        source_url="http://10.0.0.1:1/source",
        source_token="t",
        replicas=0,
    )
    template = kwargs["task_template"]
    # The service's own labels add its replica count (the count to scale to).
    assert kwargs["labels"] == {**container["labels"], REPLICAS_LABEL: "1"}
    assert template["ContainerSpec"]["Labels"] == container["labels"]
    assert template["LogDriver"]["Options"] == container["log_config"]["Config"]
    assert template["Resources"]["Limits"] == {
        "NanoCPUs": container["nano_cpus"],
        "MemoryBytes": 256 * 1024 * 1024,
    }
    assert kwargs["mode"] == {"replicated": {"Replicas": 0}}


def test_the_placement_label_is_key_value_or_empty() -> None:
    assert ProjectUpdate(placement_label=" zone = eu ").placement_label == "zone=eu"
    assert ProjectUpdate(placement_label="  ").placement_label == ""
    assert ProjectUpdate().placement_label is None
    with pytest.raises(ValidationError, match="key=value"):
        ProjectUpdate(placement_label="eu")


def test_a_restart_swaps_the_source_variables_and_keeps_the_others() -> None:
    env = ["PORT=8000", "DEVPUSH_SOURCE_URL=http://old/source", "DEVPUSH_SOURCE_TOKEN=old"]
    assert with_source(env, source_url="http://w/source", source_token="new") == [
        "PORT=8000",
        "DEVPUSH_SOURCE_URL=http://w/source",
        "DEVPUSH_SOURCE_TOKEN=new",
    ]


def test_the_replicas_a_service_runs() -> None:
    running = {"Spec": {"Mode": {"Replicated": {"Replicas": 2}}}}
    assert replicas_of(running) == 2
    assert replicas_of({"Spec": {"Mode": {"Replicated": {"Replicas": 0}}}}) == 0
    assert replicas_of({"Spec": {"Mode": {"Replicated": {}}}}) == 0
