"""The client's limits agree with the Loki config the stack runs."""

from __future__ import annotations

from pathlib import Path

import yaml

from devpush.core.config import Settings

LOKI_CONFIG = Path(__file__).resolve().parents[2] / "Docker" / "loki" / "config.yaml"


def test_pages_never_ask_loki_for_more_than_it_allows() -> None:
    limits = yaml.safe_load(LOKI_CONFIG.read_text())["limits_config"]
    # Loki refuses (400) a query whose limit is above max_entries_limit_per_query.
    assert Settings().log_store_max_entries_per_query <= limits["max_entries_limit_per_query"]
