"""Loki's own level discovery is off: the app's level rules are the only ones."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from devpush_dev.loki import start_loki
from devpush_dev.ports import free_port


def test_real_loki_adds_no_detected_level(tmp_path: Path) -> None:
    loki = start_loki(data_dir=tmp_path / "loki", http_port=free_port(), grpc_port=free_port())
    try:
        now = time.time_ns()
        stream = {"stream": {"job": "level-check"}, "values": [[str(now), "ERROR boom"]]}
        httpx.post(loki.push_url, json={"streams": [stream]}, timeout=10).raise_for_status()
        params = {"query": '{job="level-check"}', "start": now - 10**9, "end": now + 10**9}
        for _ in range(50):
            result = httpx.get(
                f"{loki.url}/loki/api/v1/query_range", params=params, timeout=10
            ).json()["data"]["result"]
            if result:
                break
            time.sleep(0.2)
        assert result, "the pushed line never became queryable"
        labels = result[0]["stream"]
        assert "detected_level" not in labels and "level" not in labels, labels
    finally:
        loki.child.stop()
