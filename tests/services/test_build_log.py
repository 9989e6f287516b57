"""The build log container's spec and its exit code file (pure); the e2e test
(tests/e2e/test_dockerfile_builds.py) streams a real build through it."""

from __future__ import annotations

import io
import tarfile

from devpush.core.config import Settings
from devpush.services import build_log
from tests.fixtures.runner import runner_spec


def test_the_build_log_container_is_the_deployments_with_stdin_open() -> None:
    spec = runner_spec(image="img")  # deployment d1 of project p1, environment e1, main
    kwargs = build_log.container_spec(spec, settings=Settings())
    assert kwargs["name"] == "devpush-build-log-d1" and kwargs["image"] == "img"
    assert kwargs["labels"] == {
        "devpush.project_id": "p1",
        "devpush.environment_id": "e1",
        "devpush.branch": "main",
        "devpush.deployment_id": "d1",
        "devpush.role": "runner",
    }
    assert kwargs["stdin_open"] is True and kwargs["network_mode"] == "none"
    assert kwargs["log_config"]["Type"] == "json-file"
    assert kwargs["command"][:2] == ["/bin/sh", "-c"]
    assert kwargs["command"][2].startswith("cat;")


def test_the_exit_code_file_lands_under_its_folder() -> None:
    with tarfile.open(fileobj=io.BytesIO(build_log.exit_code_archive(3))) as tar:
        names = tar.getnames()
        file = tar.extractfile("devpush/build-exit-code")
        assert file is not None and file.read() == b"3\n"
    assert names == ["devpush", "devpush/build-exit-code"]
