"""Several engines on one database: the engines and their leases, the engine that drives each
run, recorded each fire, wrote each log line and packages each orchestration, at most one claimed live run per task, and
the time before which a continuous task's restart may not start, and the cluster worker a
run executed on.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from jupyter_orch.engine.store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ONE_CLAIMED = sa.text("engine_id IS NOT NULL AND status IN ('pending', 'running')")


def upgrade() -> None:
    for table in ("runs", "run_logs", "fires", "orchestrations"):
        op.add_column(table, sa.Column("engine_id", sa.Text(), nullable=True))
    op.add_column("runs", sa.Column("not_before", UTCDateTime(), nullable=True))
    op.add_column("runs", sa.Column("worker", sa.Text(), nullable=True))
    op.create_index("runs_one_claimed", "runs", ["task_id"], unique=True,
                    sqlite_where=ONE_CLAIMED, postgresql_where=ONE_CLAIMED)
    op.create_table(
        "engines",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("url", sa.Text()),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("engine_id", sa.Text(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_table("engines")
    op.drop_index("runs_one_claimed", "runs")
    for table in ("orchestrations", "fires", "run_logs", "runs"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("engine_id")
            if table == "runs":
                batch.drop_column("not_before")
                batch.drop_column("worker")
