"""The schema of release 0.1.0, which made its tables itself (before Alembic).

A database written by that release is stamped with this revision and upgraded from here.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to do: only databases release 0.1.0 made stand at this revision."""


def downgrade() -> None:
    raise NotImplementedError("release 0.1.0 predates migrations; restore a backup instead")
