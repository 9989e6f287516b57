"""A package index on a project's runner network, for the build cache's tests and benchmark.

No internet: the index serves one wheel made here (``demo-dep``) from a container of the
runner image on the project's network, where the runner's pip reaches it by the
container's name. The wheel's answer says it may be cached (as PyPI's files do), and
``rate`` (bytes per second) slows the download down like a remote index would.
The sample ``examples/cached-deps`` installs it with pip's own wheel, copied in from
Python's ``ensurepip`` (the runner image has no pip).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import docker
from docker.models.containers import Container

from devpush_dev.binaries import REPO_ROOT
from devpush_dev.example import RUNNER_IMAGE

CACHED_DEPS_APP: Final = REPO_ROOT / "examples" / "cached-deps"
BUILD_COMMAND: Final = (
    "python3 tools/pip.whl/pip install --no-input --target .deps -r requirements.txt"
)
START_COMMAND: Final = "python3 app.py"
PORT: Final = 8080
WHEEL_NAME: Final = "demo_dep-1.0-py3-none-any.whl"
_IDENTITY: Final = ("-c", "user.name=devpush", "-c", "user.email=devpush@localhost")

#: The index's server: files under /index, wheels cacheable, at ``INDEX_RATE`` bytes/s.
_SERVER = """
import functools, http.server, os, time
RATE = int(os.environ.get("INDEX_RATE") or 0)
class Index(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        if self.path.endswith(".whl"):
            self.send_header("Cache-Control", "max-age=31536000, immutable")
        super().end_headers()
    def copyfile(self, source, dest):
        while chunk := source.read(65536):
            dest.write(chunk)
            if RATE:
                time.sleep(len(chunk) / RATE)
server = http.server.ThreadingHTTPServer(
    ("", int(os.environ["INDEX_PORT"])), functools.partial(Index, directory="/index"))
print("serving", flush=True)
server.serve_forever()
"""


def make_wheel(*, payload_bytes: int = 64 * 1024) -> bytes:
    """The ``demo-dep`` 1.0 wheel, with ``payload_bytes`` of random data (its size)."""
    files = {
        "demo_dep/__init__.py": b'VERSION = "1.0"\n',
        "demo_dep/data.bin": os.urandom(payload_bytes),
        "demo_dep-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: demo-dep\nVersion: 1.0\n",
        "demo_dep-1.0.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: devpush-tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append("demo_dep-1.0.dist-info/RECORD,,")
    files["demo_dep-1.0.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
    return buffer.getvalue()


def pip_wheel() -> Path:
    """pip's wheel as Python's ``ensurepip`` bundles it."""
    import ensurepip

    bundled = Path(ensurepip.__file__).parent / "_bundled"
    found = sorted(bundled.glob("pip-*.whl"))
    if not found:
        raise RuntimeError(f"no pip wheel in {bundled}: this Python has no ensurepip bundle")
    return found[-1]


def cached_deps_repo(dest: Path) -> Path:
    """A copy of ``examples/cached-deps`` with pip's wheel in ``tools/``, one commit."""
    shutil.copytree(CACHED_DEPS_APP, dest)
    (dest / "tools").mkdir()
    shutil.copyfile(pip_wheel(), dest / "tools" / "pip.whl")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "deps"]):
        subprocess.run(
            ["git", *_IDENTITY, *args], cwd=dest, check=True, capture_output=True, timeout=30
        )
    return dest


def _index_archive(wheel: bytes) -> bytes:
    digest = hashlib.sha256(wheel).hexdigest()
    page = f'<a href="/files/{WHEEL_NAME}#sha256={digest}">{WHEEL_NAME}</a>\n'.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (
            ("index/simple/demo-dep/index.html", page),
            (f"index/files/{WHEEL_NAME}", wheel),
            ("index/server.py", _SERVER.encode()),
        ):
            entry = tarfile.TarInfo(name)
            entry.size, entry.mode = len(data), 0o644
            tar.addfile(entry, io.BytesIO(data))
    return buffer.getvalue()


@contextlib.contextmanager
def package_index(
    client: docker.DockerClient, *, network: str, wheel: bytes, rate: int = 0
) -> Iterator[str]:
    """An index serving ``wheel`` on ``network``; yields its URL (``PIP_INDEX_URL``)."""
    container: Container = client.containers.create(
        RUNNER_IMAGE,
        ["python3", "/index/server.py"],
        name=f"devpush-test-index-{uuid.uuid4().hex[:8]}",
        environment={"INDEX_RATE": str(rate), "INDEX_PORT": str(PORT)},
        network=network,
    )
    try:
        container.put_archive("/", _index_archive(wheel))
        container.start()
        deadline = time.monotonic() + 30
        while b"serving" not in container.logs():
            container.reload()
            if container.status == "exited" or time.monotonic() > deadline:
                raise RuntimeError(f"the package index did not start: {container.logs()!r}")
            time.sleep(0.1)
        yield f"http://{container.name}:{PORT}/simple"
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)


def index_variables(index_url: str) -> dict[str, str]:
    """The project variables pointing the runner's pip at the index (plain http: trusted)."""
    return {"PIP_INDEX_URL": index_url, "PIP_TRUSTED_HOST": urlsplit(index_url).hostname or ""}


def cache_files(client: docker.DockerClient, volume: str) -> dict[str, bytes]:
    """The files in a build cache volume (path → content), read through a created
    (never started) container of the runner image."""
    container = client.containers.create(
        RUNNER_IMAGE, ["true"], volumes={volume: {"bind": "/cache", "mode": "ro"}}
    )
    try:
        stream, _ = container.get_archive("/cache")
        data = io.BytesIO(b"".join(stream))
    finally:
        container.remove(force=True)
    files = {}
    with tarfile.open(fileobj=data) as tar:
        for member in tar.getmembers():
            extracted = tar.extractfile(member) if member.isfile() else None
            if extracted is not None:
                files[member.name] = extracted.read()
    return files
