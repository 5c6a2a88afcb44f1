"""governance on runs: estimated cost and the effective policy (after 0008_board)

Revision ID: 0009_governance
Revises: 0008_board
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_governance"
down_revision = "0008_board"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cost_usd", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("policy_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("policy_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("policy_effective_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("policy_effective_hash")
        batch_op.drop_column("policy_version")
        batch_op.drop_column("policy_key")
        batch_op.drop_column("cost_usd")
