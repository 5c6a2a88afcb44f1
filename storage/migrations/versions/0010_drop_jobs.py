"""drop the home-made lease queue's ``jobs`` table: runs are DBOS workflows now (after 0009_governance)

Revision ID: 0010_drop_jobs
Revises: 0009_governance
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_drop_jobs"
down_revision = "0009_governance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("jobs")


def downgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("installation_id", sa.BigInteger(), nullable=False),
        sa.Column("lane", sa.String(length=300), nullable=False, index=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
