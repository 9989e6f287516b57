"""test-deps.sh waits for a held dpkg lock, bounded, saying so; then proceeds or gives up.

The lock is held the two ways it happens: a POSIX lock as apt and dpkg take it (fcntl), and
a BSD lock as ``flock(1)`` takes it. Temp files stand in for /var/lib/dpkg/lock-frontend, so
a package manager running on the machine is never blocked by the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.scripts.conftest import REPO

SCRIPT = REPO / "scripts" / "dev" / "test-deps.sh"
# apt's own way: fcntl (POSIX) lock, held until stdin closes.
_APT_STYLE = (
    "import fcntl, sys\n"
    "f = open(sys.argv[1], 'w')\n"
    "fcntl.lockf(f, fcntl.LOCK_EX)\n"
    "print('held', flush=True)\n"
    "sys.stdin.read()\n"
)


@contextmanager
def held(lock: Path, how: str) -> Iterator[subprocess.Popen[str]]:
    if how == "posix":
        argv = [sys.executable, "-c", _APT_STYLE, str(lock)]
    else:
        argv = ["flock", str(lock), "sh", "-c", "echo held; cat >/dev/null"]
    holder = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    try:
        yield holder
    finally:
        if holder.poll() is None:
            holder.stdin.close()  # type: ignore[union-attr]
            holder.wait(timeout=10)


def wait_for_lock(lock: Path, timeout: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "DEVPUSH_DPKG_LOCKS": f"{lock} {lock.parent / 'absent-lock'}",
        "DEVPUSH_DPKG_LOCK_TIMEOUT": str(timeout),
    }
    snippet = f'set -Eeuo pipefail; source "{SCRIPT}"; wait_for_dpkg_lock; echo proceeded'
    return subprocess.Popen(
        ["bash", "-c", snippet], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize("how", ["posix", "flock"])
def test_waits_for_the_lock_then_proceeds(tmp_path: Path, how: str) -> None:
    lock = tmp_path / "lock-frontend"
    lock.touch()
    with held(lock, how) as holder:
        waiting = wait_for_lock(lock, timeout=60)
        time.sleep(2.5)
        assert waiting.poll() is None, waiting.communicate()
    released = time.monotonic()
    out, err = waiting.communicate(timeout=20)
    assert waiting.returncode == 0, err
    assert time.monotonic() - released < 5
    assert f"the dpkg lock is held by process {holder.pid}" in out
    assert "waiting up to 60 s for it to finish" in out
    assert "dpkg lock free after" in out
    assert out.rstrip().endswith("proceeded")


def test_gives_up_after_the_timeout(tmp_path: Path) -> None:
    lock = tmp_path / "lock-frontend"
    lock.touch()
    with held(lock, "posix") as holder:
        started = time.monotonic()
        out, err = wait_for_lock(lock, timeout=2).communicate(timeout=30)
        assert 2 <= time.monotonic() - started < 10
    assert "proceeded" not in out
    assert f"still held by process {holder.pid} after 2 s" in err


def test_a_free_lock_says_nothing(tmp_path: Path) -> None:
    lock = tmp_path / "lock-frontend"
    lock.touch()
    proc = wait_for_lock(lock, timeout=60)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert out == "proceeded\n"
