"""Task controls: a schedule's time zone, end date and run cap (a paused task is a status, no
column).

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from jupyter_orch.engine.store.types import UTCDateTime

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("tz", sa.Text(), nullable=True))
    op.add_column("tasks", sa.Column("end_date", UTCDateTime(), nullable=True))
    op.add_column("tasks", sa.Column("max_runs", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        for column in ("max_runs", "end_date", "tz"):
            batch.drop_column(column)
