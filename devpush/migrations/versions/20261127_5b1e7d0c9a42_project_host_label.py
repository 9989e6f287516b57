"""project host label

A project's host label (``<label>.<domain>`` and its environments' and deployments'
hosts), unique across teams. Existing projects keep their slug as the label, in order
of creation; a later project whose slug another already holds, or whose label would meet
another's hosts (one label the other's ``-<tail>``), gets ``-<first 6 of its id>``.

Revision ID: 5b1e7d0c9a42
Revises: 23e006489724
Create Date: 2026-11-27 05:40:00.000000

"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Frozen history: the backfill's rule is written out here, never imported from the app.
# revision identifiers, used by Alembic.
revision: str = "5b1e7d0c9a42"
down_revision: str | Sequence[str] | None = "23e006489724"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _clash(a: str, b: str) -> bool:
    return a == b or a.endswith(f"-{b}") or b.endswith(f"-{a}")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("host_label", sa.String(length=63), nullable=True))
    projects = sa.table(
        "projects",
        sa.column("id", sa.String),
        sa.column("slug", sa.String),
        sa.column("host_label", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(projects.c.id, projects.c.slug).order_by(projects.c.created_at, projects.c.id)
    ).all()
    taken: list[str] = []
    for project_id, slug in rows:
        base = re.sub(r"[^a-z0-9]+", "-", slug.lower()).strip("-")[:40].strip("-") or "project"
        label = base
        if any(_clash(label, other) for other in taken):
            label = f"{base[:33].rstrip('-')}-{project_id[:6]}"
        taken.append(label)
        bind.execute(projects.update().where(projects.c.id == project_id).values(host_label=label))
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.alter_column("host_label", existing_type=sa.String(length=63), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_projects_host_label"), ["host_label"])


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_projects_host_label"), type_="unique")
        batch_op.drop_column("host_label")
