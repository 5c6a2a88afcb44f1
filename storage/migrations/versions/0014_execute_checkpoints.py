"""execute checkpoints: the loop's state and worktree patch after each finished turn (issues 11, 13; after 0013_fix_proofs)

Revision ID: 0014_execute_checkpoints
Revises: 0013_fix_proofs
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_execute_checkpoints"
down_revision = "0013_fix_proofs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "execute_checkpoints",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("next_phase", sa.String(length=16), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("patch", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("execute_checkpoints")
