"""What Alloy reads: Docker's json-file logs of a labelled runner, on the real engine."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from devpush.core.config import Settings
from devpush.core.labels import RUNNER_LABELS

pytestmark = pytest.mark.docker

#: RFC3339Nano as Docker writes it: UTC, up to 9 fractional digits, trailing zeros trimmed.
RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def _expected(count: int, stream: str, pad: int = 0) -> list[str]:
    prefix = "out" if stream == "stdout" else "err"
    return [f"{prefix} {i} {'x' * pad}\n" for i in range(1, count + 1)]


def test_runner_json_log_holds_every_line_with_stream_and_time(run_runner, json_logs) -> None:
    count = 40
    container = run_runner(json_logs.numbered_lines_script(count))
    assert set(RUNNER_LABELS) <= set(container.labels)
    settings = Settings()
    assert container.attrs["HostConfig"]["LogConfig"] == {
        "Type": "json-file",
        "Config": {
            "max-size": settings.runner_log_max_size,
            "max-file": str(settings.runner_log_max_file),
        },
    }

    # __path__ as config.alloy builds it is the file Docker writes.
    path = json_logs.alloy_log_path(container.id)
    assert path == Path(container.attrs["LogPath"])
    assert path.is_file()

    lines = json_logs.wait_for_lines(container, 2 * count)
    for stream in ("stdout", "stderr"):
        assert [line.log for line in lines if line.stream == stream] == _expected(count, stream)
    assert {line.stream for line in lines} == {"stdout", "stderr"}
    for line in lines:
        assert RFC3339_NANO.match(line.time), line.time
    # Times never go backwards within a stream (each is its own Loki stream, via the
    # `stream` label). Across streams the file order is not time order: Docker copies
    # stdout and stderr in separate goroutines, so the file can interleave them late.
    for stream in ("stdout", "stderr"):
        stamps = [_parse_time(line.time) for line in lines if line.stream == stream]
        assert stamps == sorted(stamps), stream


def test_rotation_keeps_every_line_exactly_once(run_runner, json_logs) -> None:
    count = 150
    pad = 40  # ~110-byte json records: 300 of them rotate a 2k file about 15 times
    settings = Settings(runner_log_max_size="2k", runner_log_max_file=40)
    container = run_runner(json_logs.numbered_lines_script(count, pad=pad), settings=settings)

    lines = json_logs.wait_for_lines(container, 2 * count)
    files = json_logs.files(container)
    assert len(files) > 5, f"expected rotated files, got {[p.name for p in files]}"
    assert files[-1] == json_logs.alloy_log_path(container.id)
    assert all(p.stat().st_size <= 2048 + 512 for p in files)
    for stream in ("stdout", "stderr"):
        got = [line.log for line in lines if line.stream == stream]
        assert got == _expected(count, stream, pad)


def _parse_time(value: str) -> datetime:
    # RFC3339Nano; datetime keeps microseconds, enough to see order between lines.
    return datetime.fromisoformat(value[:26].rstrip("Z") + "+00:00")
