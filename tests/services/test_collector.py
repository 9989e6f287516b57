"""Reading the collector's queue from its Prometheus metrics, and the rotation figure."""

from __future__ import annotations

import pytest

from devpush.core.config import Settings
from devpush.services.collector import parse_queue, queue_full_message, rotation_mib, size_bytes

METRICS = """# HELP otelcol_exporter_queue_size Current size of the retry queue
# TYPE otelcol_exporter_queue_size gauge
otelcol_exporter_queue_capacity{data_type="logs",exporter="otlp_http/victorialogs"} 1.048576e+06
otelcol_exporter_queue_size{data_type="logs",exporter="otlp_http/victorialogs"} 1.046e+06
otelcol_exporter_queue_size_extra 5
"""


def test_a_queue_within_5_percent_of_its_capacity_is_full() -> None:
    state = parse_queue(METRICS)
    assert state is not None
    assert (state.size, state.capacity) == (1_046_000, 1_048_576)
    assert state.full
    assert not parse_queue(METRICS.replace("1.046e+06", "9e+05")).full  # type: ignore[union-attr]


def test_no_queue_metrics_means_unknown() -> None:
    assert parse_queue("otelcol_fileconsumer_open_files 0\n") is None


@pytest.mark.parametrize(
    ("size", "expected"),
    [("10m", 10 * 1024**2), ("512k", 512 * 1024), ("1g", 1024**3), ("100", 100)],
)
def test_json_file_sizes(size: str, expected: int) -> None:
    assert size_bytes(size) == expected


def test_the_message_names_the_rotation() -> None:
    settings = Settings(runner_log_max_size="20m", runner_log_max_file=3)
    assert rotation_mib(settings) == 60
    assert "(60 MiB)" in queue_full_message(settings)
