"""Dockerfile settings' checks, the builder's output as lines, and the cache mount (pure)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from devpush.core.config import Settings
from devpush.services import dockerfile, runner
from devpush.services.dockerfile import BuildResult, _read_chunk
from devpush.services.git import Commit


def test_a_dockerfile_path_stays_inside_the_repository() -> None:
    assert dockerfile.dockerfile_path(" deploy/Dockerfile ") == "deploy/Dockerfile"
    for bad in ("", "/Dockerfile", "../Dockerfile", "a/../../Dockerfile"):
        with pytest.raises(ValueError, match="relative path inside the repository"):
            dockerfile.dockerfile_path(bad)


def test_build_args_need_docker_names() -> None:
    assert dockerfile.build_args({"NODE_ENV": "production"}) == {"NODE_ENV": "production"}
    with pytest.raises(ValueError, match="bad build argument name"):
        dockerfile.build_args({"1X": "y"})
    with pytest.raises(ValueError, match="at most 50"):
        dockerfile.build_args({f"A{n}": "" for n in range(51)})


def test_the_builders_chunks_become_lines_and_its_error_its_code() -> None:
    result, handed = BuildResult(), []
    for chunk in (
        {"stream": "Step 1/2 : FROM base\n"},
        {"stream": " ---> 0123\nStep 2/2 : RUN make\n"},
        {"stream": "\n"},
        {"stream": "make: *** [all] Error 2\n"},
        {
            "error": "The command '/bin/sh -c make' returned a non-zero code: 2",
            "errorDetail": {"code": 2, "message": "…"},
        },
    ):
        _read_chunk(chunk, result, handed.append)
    # Each line is handed on as it comes (to the build log container), the error too.
    assert (
        handed
        == result.lines
        == [
            "Step 1/2 : FROM base",
            " ---> 0123",
            "Step 2/2 : RUN make",
            "make: *** [all] Error 2",
            "The command '/bin/sh -c make' returned a non-zero code: 2",
        ]
    )
    assert (result.error is not None, result.exit_code) == (True, 2)


def test_only_the_last_lines_are_kept() -> None:
    result = BuildResult()
    result.add("\n".join(str(n) for n in range(dockerfile.MAX_LINES + 10)))
    assert len(result.lines) == dockerfile.MAX_LINES
    assert result.lines[-1] == str(dockerfile.MAX_LINES + 9)


def test_the_context_leaves_git_out(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    (tmp_path / "Dockerfile").write_text("FROM x\n")
    with tarfile.open(fileobj=io.BytesIO(dockerfile.context_archive(tmp_path))) as tar:
        names = tar.getnames()
    assert "./Dockerfile" in names
    assert not any(".git" in name for name in names)


def _spec(**more: object) -> runner.RunnerSpec:
    return runner.RunnerSpec(
        deployment_id="d1", project_id="p1", environment_id="e1", branch="main",
        commit_sha="abc", image="img", port=8000, **more,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_build_command_runner_mounts_the_cache_and_the_users_variables_win() -> None:
    kwargs = runner.runner_container_spec(
        spec=_spec(cache_volume="devpush_runner-cache-p1"),
        environment={"PIP_CACHE_DIR": "/elsewhere", "PORT": "8000"},
        settings=Settings(),
    )
    assert kwargs["volumes"] == {"devpush_runner-cache-p1": {"bind": "/cache", "mode": "rw"}}
    assert kwargs["environment"]["PIP_CACHE_DIR"] == "/elsewhere"
    assert kwargs["environment"]["UV_CACHE_DIR"] == "/cache/uv"
    assert kwargs["environment"]["npm_config_cache"] == "/cache/npm"
    assert kwargs["working_dir"] == "/app"


def test_a_dockerfile_runner_keeps_its_images_workdir_and_has_no_cache() -> None:
    kwargs = runner.runner_container_spec(
        spec=_spec(image_workdir=True), environment={}, settings=Settings()
    )
    assert "working_dir" not in kwargs and "volumes" not in kwargs


def test_the_build_step_shows_its_headline_only() -> None:
    script = runner.run_script(
        steps=runner.Steps(build="true", pre_deploy="", start="python3 app.py"),
        branch="main",
        commit=Commit("abc", "m"),
        build_shown="docker build -f Dockerfile: built",
        with_headline=False,
    )
    assert "step Build true 'docker build -f Dockerfile: built'" in script
    # The build log container said the headline: the deployment's log shows it once.
    assert "Deploying branch" not in script
    assert "Deploying branch main at abc" in runner.run_script(
        steps=runner.Steps(build="", pre_deploy="", start="python3 app.py"),
        branch="main",
        commit=Commit("abc", "m"),
    )
    assert runner.image_start_command({"Entrypoint": ["tini", "--"], "Cmd": ["app", "a b"]}) == (
        "tini -- app 'a b'"
    )
