"""Task controls: a schedule's time zone, end date and run cap (a paused task is a status, no
column); retries (per task how many and after how long; per run the run it retries and its
attempt); each run's own arguments and timeout, and the run a re-run repeats.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from jupyter_orch.engine.store.types import Json, UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("tz", sa.Text(), nullable=True))
    op.add_column("tasks", sa.Column("end_date", UTCDateTime(), nullable=True))
    op.add_column("tasks", sa.Column("max_runs", sa.Integer(), nullable=True))
    op.add_column("tasks", sa.Column("max_retries", sa.Integer(), nullable=True))
    op.add_column("tasks", sa.Column("retry_delay", sa.Float(), nullable=True))
    op.add_column("runs", sa.Column("input_data", Json, nullable=True))
    op.add_column("runs", sa.Column("timeout", sa.Float(), nullable=True))
    op.add_column("runs", sa.Column("rerun_of", sa.Text(), nullable=True))
    op.add_column("runs", sa.Column("retry_of", sa.Text(), nullable=True))
    op.add_column("runs", sa.Column("attempt", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        for column in ("attempt", "retry_of", "rerun_of", "timeout", "input_data"):
            batch.drop_column(column)
    with op.batch_alter_table("tasks") as batch:
        for column in ("retry_delay", "max_retries", "max_runs", "end_date", "tz"):
            batch.drop_column(column)
