"""Webhook deliveries (devpush.services.deliveries) on SQLite and PostgreSQL: one record per
forge delivery id, refused calls kept apart, the oldest trimmed."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from devpush.models import DeliveryResult, Project
from devpush.services.deliveries import (
    claim_delivery,
    find_delivery,
    finish_delivery,
    list_deliveries,
    record_delivery,
)

pytestmark = pytest.mark.both_databases


def test_a_delivery_id_is_claimed_once(session: Session, project: Project) -> None:
    first = claim_delivery(session, project=project, forge="github", event="push", delivery="d-1")
    assert first is not None
    finish_delivery(session, first, result=DeliveryResult.DEPLOYED, reason="deploying")
    assert (
        claim_delivery(session, project=project, forge="github", event="push", delivery="d-1")
        is None
    )
    session.rollback()
    found = find_delivery(session, project=project, delivery="d-1")
    assert found is not None and found.result is DeliveryResult.DEPLOYED


def test_a_refused_call_never_takes_the_delivery_id(session: Session, project: Project) -> None:
    refused = record_delivery(
        session,
        project=project,
        forge="github",
        event="push",
        delivery="d-2",
        result=DeliveryResult.REFUSED,
        reason="bad signature",
    )
    assert refused is not None and refused.dedupe_key is None
    assert find_delivery(session, project=project, delivery="d-2") is None
    real = claim_delivery(session, project=project, forge="github", event="push", delivery="d-2")
    assert real is not None


def test_deliveries_list_newest_first_and_keep_the_newest(
    session: Session, project: Project
) -> None:
    for i in range(5):
        record_delivery(
            session,
            project=project,
            forge="generic",
            event="push",
            delivery=f"d-{i}",
            result=DeliveryResult.IGNORED,
            reason=f"#{i}",
            keep=3,
        )
    rows = list_deliveries(session, project=project)
    assert [row.reason for row in rows] == ["#4", "#3", "#2"]
