"""A project's rows: its configured ones (notification channels, log drains, custom
domains) listed in the order they were added, found only inside their project, deleted;
its records (deployments, webhook deliveries) listed newest first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from devpush.models import Project


class ProjectRow(Protocol):
    @property
    def project_id(self) -> str: ...


RowT = TypeVar("RowT", bound=ProjectRow)


def project_rows(
    session: Session,
    model: type[RowT],
    project_column: InstrumentedAttribute[str],
    project_id: str,
    *order: InstrumentedAttribute[Any] | ColumnElement[Any],
    limit: int | None = None,
) -> list[RowT]:
    """The project's rows of ``model`` in ``order``, the first ``limit`` of them (None: all)."""
    query = select(model).where(project_column == project_id).order_by(*order).limit(limit)
    return list(session.scalars(query))


def project_row(
    session: Session,
    model: type[RowT],
    row_id: str,
    *,
    project: Project,
    missing: Callable[[str], Exception],
) -> RowT:
    """The row ``row_id`` if it is ``project``'s; else ``missing(row_id)`` is raised (another
    project's row is as missing as one that never was)."""
    row = session.get(model, row_id)
    if row is None or row.project_id != project.id:
        raise missing(row_id)
    return row


def delete_row(session: Session, row: object) -> None:
    session.delete(row)
    session.commit()
