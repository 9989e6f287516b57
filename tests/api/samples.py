"""A deployment's runtime metrics as the sampler stores them, for the metrics tests of the
API, the pages and the CLI."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from devpush.models import utcnow
from devpush.services.metrics import Sample, add_samples


def sampled(sessions: sessionmaker[Session], deployment_id: str, *ages: timedelta) -> None:
    """One sample per age (that long ago), CPU rising, memory and network growing."""
    now = utcnow()
    with sessions() as session:
        add_samples(
            session,
            [
                (deployment_id, Sample(now - age, 0.1 * n, 1000 * n, 100 * n, 10 * n))
                for n, age in enumerate(ages, start=1)
            ],
        )
        session.commit()
