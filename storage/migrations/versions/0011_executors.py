"""executor heartbeats for taking over a dead worker's runs (after 0010_drop_jobs)

Revision ID: 0011_executors
Revises: 0010_drop_jobs
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_executors"
down_revision = "0010_drop_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "executors",
        sa.Column("executor_id", sa.String(length=128), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("executor_id"),
    )


def downgrade() -> None:
    op.drop_table("executors")
