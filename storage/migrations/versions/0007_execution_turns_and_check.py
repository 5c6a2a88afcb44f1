"""token usage per turn and the pre-PR check on execution results (after 0006)

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("execution_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("turns", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("check", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("execution_results", schema=None) as batch_op:
        batch_op.drop_column("check")
        batch_op.drop_column("turns")
