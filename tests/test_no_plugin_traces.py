"""Removal checklist: no trace of the Docker Loki log-driver plugin in the tree.

Since 0.1.2 runner containers log with json-file and Alloy ships the files. Only
the upgrade hooks (which remove the plugin from old installs), CHANGELOG.md, the
hook's own test and this file may name it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

ALLOWED = (
    "scripts/prod/upgrades/",
    "CHANGELOG.md",
    "tests/test_no_plugin_traces.py",
    "tests/scripts/test_upgrade_0_1_2.py",
)

# Each pattern is one item of the checklist in the migration plan.
CHECKLIST = {
    "loki log driver in code": re.compile(r"""["']Type["']\s*:\s*["']loki["']"""),
    "docker plugin commands": re.compile(r"docker\s+plugin\b", re.I),
    "the plugin's socket": re.compile(r"loki\.sock"),
    "the plugin's image": re.compile(r"loki-docker-driver", re.I),
    "the plugin in docs": re.compile(
        r"loki\s+(docker\s+)?(log(ging)?\s+)?(driver\s+)?plugin"
        r"|docker\s+(loki\s+)?(log(ging)?\s+)?driver\s+plugin"
        r"|log-driver[= ]+loki",
        re.I,
    ),
}


def tree() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout
    return [p for p in out.splitlines() if (REPO / p).is_file() and not p.startswith(ALLOWED)]


def test_checklist_patterns_catch_the_old_setup() -> None:
    samples = [
        'LogConfig = {"Type": "loki", "Config": {}}',
        "docker plugin install grafana/loki-docker-driver:latest --alias loki",
        "wait for /run/docker/plugins/abc/loki.sock",
        "Install Colima and the Loki Docker plugin",
        "docker run --log-driver=loki busybox",
    ]
    for sample in samples:
        assert any(p.search(sample) for p in CHECKLIST.values()), sample


def test_no_plugin_traces_in_the_tree() -> None:
    hits = []
    for path in tree():
        try:
            text = (REPO / path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for item, pattern in CHECKLIST.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                hits.append(f"{path}:{line}: {item}: {match.group(0)!r}")
    assert not hits, "\n".join(hits)


def test_the_upgrade_hook_is_where_the_plugin_is_removed() -> None:
    hook = (REPO / "scripts/prod/upgrades/0.1.2.sh").read_text()
    assert "docker plugin disable" in hook
    assert "docker plugin rm" in hook
