"""The build step: prints a few lines and writes what the app serves (build/info.txt)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

print(f"Building hello-python with Python {platform.python_version()}")
branch = os.environ.get("DEVPUSH_BRANCH", "unknown")
commit = os.environ.get("DEVPUSH_COMMIT_SHA", "unknown")[:12]
print(f"Branch {branch}, commit {commit}")
out = Path("build")
out.mkdir(exist_ok=True)
(out / "info.txt").write_text(f"branch={branch} commit={commit}\n")
print(f"Wrote {out / 'info.txt'}")
print("Build finished")
