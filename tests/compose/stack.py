"""The production Compose stack run for real, laid out as scripts/prod/install.sh does.

An install in a temporary root: the release's files in ``opt/devpush`` (DEVPUSH_APP_DIR),
the data directories in ``srv/devpush`` (DEVPUSH_DATA_ROOT) with install.sh's owners and
modes, and a ``.env`` with generated secrets. Compose runs the files the scripts choose for
the VictoriaLogs store plus docker-compose.local.yml (the images scripts/dev/prod-images.sh
makes), under a project name of its own, with every port on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from devpush_dev.ports import free_port

REPO = Path(__file__).resolve().parents[2]
FILES = ("docker-compose.yml", "docker-compose.victorialogs.yml", "docker-compose.local.yml")
APP_UID = 10001  # Docker/Dockerfile.app's user; install.sh gives it the data dirs
DOMAIN = "apps.test"
#: The services of the stack whichever log store it runs (each store adds its own).
CORE_SERVICES = frozenset(
    {"migrate", "app", "worker", "postgres", "redis", "docker-proxy-worker", "proxy"}
    | {"resolver", "resolver-2"}
)
#: What the VictoriaLogs store adds: the store and the collector, no socket-proxy door.
VICTORIALOGS_SERVICES = CORE_SERVICES | {"victorialogs", "otelcol"}
#: The tests' own Compose file, after the release's: the cheap health checks (no Python
#: import of devpush) every 2 s instead of every 10-15 s, so ``up --wait`` ends soon after
#: the services are ready, not at their next check (the resolvers' too: their check,
#: ``devpush.resolver.health``, is the standard library only). The retries keep a failing
#: check's minute of grace (production's is 30-75 s), so a slow check on a busy machine is not
#: "unhealthy".
QUICK_CHECKED = (
    "app",
    "postgres",
    "redis",
    "docker-proxy-worker",
    "victorialogs",
    "resolver",
    "resolver-2",
)
HEALTH_OVERRIDE = "services:\n" + "".join(
    f"  {name}:\n    healthcheck:\n      interval: 2s\n      retries: 30\n"
    for name in QUICK_CHECKED
)
EXAMPLE = REPO / "examples" / "hello-python"


def run(
    args: list[str], *, timeout: float, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd, check=False
    )


def release_files() -> list[str]:
    """The files a release tarball holds: the repository's, tracked or new (not ignored)."""
    proc = run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        timeout=30,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    return [name for name in proc.stdout.split("\0") if name and (REPO / name).is_file()]


def install_dirs(data_root: Path, app_dir: Path) -> None:
    """install.sh's create_dirs: the same directories, owners and modes."""
    for name, mode in (("", 0o755), ("alloy", 0o755), ("otelcol", 0o755), ("victorialogs", 0o755)):
        (data_root / name).mkdir(parents=True, exist_ok=True)
        (data_root / name).chmod(mode)
    for name, mode in (
        ("data", 0o750),
        ("caddy", 0o750),
        ("caddy/data", 0o700),
        ("caddy/config", 0o700),
        ("caddy/admin", 0o700),
        ("caddy/logs", 0o750),
    ):
        path = data_root / name
        path.mkdir(exist_ok=True)
        path.chmod(mode)
        os.chown(path, APP_UID, APP_UID)
    app_dir.mkdir(parents=True, exist_ok=True)


def install_release(app_dir: Path) -> None:
    for name in release_files():
        target = app_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)


def sample_repo(data_root: Path) -> Path:
    """examples/hello-python as a repository of its own, where the containers see it."""
    repo = data_root / "data" / "repos" / "hello-python"
    shutil.copytree(EXAMPLE, repo)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "e2e",
        "GIT_AUTHOR_EMAIL": "e2e@example.com",
        "GIT_COMMITTER_NAME": "e2e",
        "GIT_COMMITTER_EMAIL": "e2e@example.com",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "hello"]):
        proc = run(["git", *args], timeout=30, env=env, cwd=repo)
        assert proc.returncode == 0, proc.stderr
    # The app's uid reads it (git refuses a repository another user owns).
    for path in [repo.parent, repo, *repo.rglob("*")]:
        os.chown(path, APP_UID, APP_UID, follow_symlinks=False)
    return repo


@dataclass
class ComposeStack:
    """One installed stack; ``compose`` runs ``docker compose`` as the scripts do."""

    root: Path
    project: str
    http_port: int
    https_port: int
    # Secrets stay out of reprs (a failing test prints its fixtures).
    env_values: dict[str, str] = field(repr=False)
    admin_email: str = "admin@example.com"
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(16), repr=False)
    token: str = field(default="", repr=False)

    @property
    def app_dir(self) -> Path:
        return self.root / "opt" / "devpush"

    @property
    def data_root(self) -> Path:
        return self.root / "srv" / "devpush"

    @property
    def health_override(self) -> Path:
        """HEALTH_OVERRIDE's file, outside the installed release (its files stay as shipped;
        the release's own scripts, update.sh, do not read it)."""
        return self.root / "compose.health.yml"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def process_env(self) -> dict[str, str]:
        return {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/root"),
            "DEVPUSH_DATA_ROOT": str(self.data_root),
            "DEVPUSH_ADMIN_PASSWORD": self.admin_password,
        }

    def compose(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        argv = [
            "docker",
            "compose",
            "--project-name",
            self.project,
            "--project-directory",
            str(self.app_dir),
            "--env-file",
            str(self.app_dir / "versions.env"),
            "--env-file",
            str(self.app_dir / ".env"),
        ]
        for name in FILES:
            argv += ["-f", str(self.app_dir / name)]
        argv += ["-f", str(self.health_override)]
        return run([*argv, *args], timeout=timeout, env=self.process_env())

    def must(self, *args: str, timeout: float = 120) -> str:
        proc = self.compose(*args, timeout=timeout)
        assert proc.returncode == 0, (
            f"docker compose {' '.join(args)}:\n{proc.stderr}\n{self.tail_logs()}"
        )
        return proc.stdout

    def tail_logs(self) -> str:
        proc = self.compose("logs", "--no-color", "--tail", "40", timeout=60)
        return proc.stdout[-12000:]

    def up(self) -> None:
        self.must("up", "-d", "--wait", "--wait-timeout", "240", timeout=300)

    def services(self) -> dict[str, dict[str, Any]]:
        out = self.must("ps", "--all", "--format", "json")
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        return {row["Service"]: row for row in rows}

    def write_env(self) -> None:
        """install.sh's write_env, plus this test's ports and names."""
        lines = [f"{key}={value}" for key, value in self.env_values.items()]
        env_file = self.app_dir / ".env"
        env_file.write_text("\n".join(lines) + "\n")
        env_file.chmod(0o600)

    def client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.Client(base_url=self.api_url, headers=headers, timeout=30)

    def wait_for_api(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.api_url}/login", timeout=5).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"the app never answered\n{self.tail_logs()}"
            time.sleep(1)


def make_stack(root: Path, project: str) -> ComposeStack:
    http_port, https_port, plain_port = free_port(), free_port(), free_port()
    stack = ComposeStack(
        root=root,
        project=project,
        http_port=http_port,
        https_port=https_port,
        env_values={
            "DEVPUSH_SECRET_KEY": secrets.token_hex(32),
            "POSTGRES_PASSWORD": secrets.token_hex(32),
            "DEVPUSH_LOG_STORE": "victorialogs",
            "DEVPUSH_DOMAIN": DOMAIN,
            # This machine: loopback only, free ports, no ACME CA to reach.
            "DEVPUSH_HTTP_ADDR": "127.0.0.1",
            "DEVPUSH_HTTP_PORT": str(http_port),
            "DEVPUSH_PROXY_ADDR": "127.0.0.1",
            "DEVPUSH_PROXY_HTTP_PORT": str(plain_port),
            "DEVPUSH_PROXY_HTTPS_PORT": str(https_port),
            "DEVPUSH_PROXY_TLS_ISSUER": "internal",
            "DEVPUSH_LOCAL_REPO_ROOTS": "/data/repos",
            "DEVPUSH_WEB_WORKERS": "2",
        },
    )
    install_dirs(stack.data_root, stack.app_dir)
    install_release(stack.app_dir)
    stack.write_env()
    stack.health_override.write_text(HEALTH_OVERRIDE)
    return stack


def provision() -> None:
    """Compose v5 and the stack's images: built once, then cached (seconds when warm)."""
    for script in ("scripts/dev/compose.sh", "scripts/dev/prod-images.sh"):
        proc = run([str(REPO / script)], timeout=1800)
        if proc.returncode != 0:
            pytest.fail(
                f"{script} failed (it needs scripts/dev/test-deps.sh's machine):\n{proc.stderr}"
            )


def runner_networks(stack: ComposeStack, client: docker.DockerClient) -> list[Any]:
    """The stack's runner networks: one per project, the worker's (Compose owns none)."""
    prefix = f"{stack.project}_runner"
    # ``names`` matches part of a name: keep the stack's own.
    return [n for n in client.networks.list(names=[prefix]) if n.name.startswith(prefix)]


def remove_deployments(stack: ComposeStack, client: docker.DockerClient) -> None:
    """The runners and kept builds the stack's worker made (Compose does not own them)."""
    projects = set()
    for network in runner_networks(stack, client):
        for container in client.containers.list(all=True, filters={"network": network.id}):
            if container.labels.get("com.docker.compose.project") != stack.project:
                projects.add(container.labels.get("devpush.project_id"))
                container.remove(force=True)
    for project_id in projects - {None}:
        for image in client.images.list(filters={"label": f"devpush.project_id={project_id}"}):
            client.images.remove(image.id, force=True)


def remove_runner_networks(stack: ComposeStack, client: docker.DockerClient) -> None:
    """Once the stack is down (the proxy left them): its projects' networks."""
    for network in runner_networks(stack, client):
        network.remove()


def next_app_image(stack: ComposeStack) -> str:
    """The update test's tag for the app image (removed with the stack)."""
    return f"devpush/app:{stack.project}"
