"""Task chains: a task's follow-ups (`on_success`, `on_failure`: run-once bodies), the run whose
end started a follow-up task (unique, so two engines that both see the end start it once), and
on a run the task its end started.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from jupyter_orch.engine.store.types import Json

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("on_success", Json, nullable=True))
    op.add_column("tasks", sa.Column("on_failure", Json, nullable=True))
    op.add_column("tasks", sa.Column("upstream_run_id", sa.Text(), nullable=True))
    op.create_index("tasks_upstream_run", "tasks", ["upstream_run_id"], unique=True)
    op.add_column("runs", sa.Column("follow_up_task_id", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("follow_up_task_id")
    op.drop_index("tasks_upstream_run", "tasks")
    with op.batch_alter_table("tasks") as batch:
        for column in ("upstream_run_id", "on_failure", "on_success"):
            batch.drop_column(column)
