"""A column for connection details sealed at rest (Fernet). The migration cannot know the key,
so the engine seals the rows release 0.1.0 kept in clear text on its first start
(`Connections.seal_clear_rows`) and empties their clear `details`.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("connections", sa.Column("sealed_details", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("sealed_details")
