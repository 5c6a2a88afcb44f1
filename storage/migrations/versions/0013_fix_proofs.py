"""execution results keep the fix's "fails before, passes after" proofs (issue 13; after 0012_ci_failures_reviews)

Revision ID: 0013_fix_proofs
Revises: 0012_ci_failures_reviews
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_fix_proofs"
down_revision = "0012_ci_failures_reviews"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("execution_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proofs", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("execution_results", schema=None) as batch_op:
        batch_op.drop_column("proofs")
