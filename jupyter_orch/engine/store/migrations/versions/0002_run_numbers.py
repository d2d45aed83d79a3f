"""Number each task's runs (1, 2, ...) so that runs made in the same instant keep their order
on every backend (release 0.1.0 used SQLite's rowid).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("number", sa.Integer(), nullable=True))
    tiebreak = "rowid" if op.get_bind().dialect.name == "sqlite" else "id"
    op.execute(
        "UPDATE runs SET number = (SELECT n FROM (SELECT id, ROW_NUMBER() OVER"
        f" (PARTITION BY task_id ORDER BY created_at, {tiebreak}) AS n FROM runs) numbered"
        " WHERE numbered.id = runs.id)"
    )
    with op.batch_alter_table("runs") as batch:
        batch.alter_column("number", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint("runs_task_number", ["task_id", "number"])


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint("runs_task_number", type_="unique")
        batch.drop_column("number")
