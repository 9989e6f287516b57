"""Docker's RFC 3339 times, read by the standard library alone."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta, timezone

import pytest

from devpush.services import runner as runner_service
from devpush.services.runner import docker_time


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-01T12:34:56.123456789Z", datetime(2024, 5, 1, 12, 34, 56, 123456, UTC)),
        ("2024-05-01T12:34:56Z", datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC)),
        ("2024-05-01T12:34:56.5Z", datetime(2024, 5, 1, 12, 34, 56, 500000, UTC)),
        (
            "2024-05-01T14:34:56.1234567+02:00",
            datetime(2024, 5, 1, 14, 34, 56, 123456, timezone(timedelta(hours=2))),
        ),
        ("0001-01-01T00:00:00Z", None),
        ("", None),
    ],
)
def test_docker_times(raw: str, expected: datetime | None) -> None:
    assert docker_time(raw) == expected


def test_no_hand_made_time_parsing() -> None:
    # datetime.fromisoformat reads Docker's times on 3.11: no regex, no "Z" replacing.
    source = inspect.getsource(runner_service.docker_time)
    assert "re.sub" not in source and ".replace(" not in source
