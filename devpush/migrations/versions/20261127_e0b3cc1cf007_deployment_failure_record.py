"""deployment failure record

Why a deployment failed, kept on its row: the step (``failure_step``), the step's
last output lines (``failure_lines``, a JSON list of strings); the exit code is the
existing ``exit_code`` column.

Revision ID: e0b3cc1cf007
Revises: 974db6be500c
Create Date: 2026-11-27 00:49:31.955641

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Frozen history: a migration repeats table shapes and headers on purpose, never shared.
# revision identifiers, used by Alembic.
revision: str = "e0b3cc1cf007"
down_revision: str | Sequence[str] | None = "974db6be500c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "failure_step",
                # A plain string column (no native ENUM): a new step needs no migration.
                sa.Enum(
                    "clone",
                    "build",
                    "pre-deploy",
                    "start",
                    "ready-check",
                    name="deploystep",
                    native_enum=False,
                    length=20,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("failure_lines", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_column("failure_lines")
        batch_op.drop_column("failure_step")
