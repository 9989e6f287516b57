"""dockerfile builds

A project may build from a Dockerfile in its repository (its path and build arguments).

Revision ID: 3b7e2c1d9a04
Revises: 9d95823aeb68
Create Date: 2026-12-06 03:40:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "3b7e2c1d9a04"
down_revision: str | Sequence[str] | None = "9d95823aeb68"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "build_from_dockerfile", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "dockerfile_path",
                sa.String(length=255),
                server_default="Dockerfile",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("build_args", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("build_args")
        batch_op.drop_column("dockerfile_path")
        batch_op.drop_column("build_from_dockerfile")
