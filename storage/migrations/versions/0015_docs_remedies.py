"""the docs turn's change of an execute run, and sources marked for re-confirmation (issue 13; after 0014_execute_checkpoints)

Revision ID: 0015_docs_remedies
Revises: 0014_execute_checkpoints
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_docs_remedies"
down_revision = "0014_execute_checkpoints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("execution_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("documentation", sa.JSON(), nullable=True))
    with op.batch_alter_table("manifest_sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reconfirm_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("reconfirm_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("manifest_sources", schema=None) as batch_op:
        batch_op.drop_column("reconfirm_since")
        batch_op.drop_column("reconfirm_reason")
    with op.batch_alter_table("execution_results", schema=None) as batch_op:
        batch_op.drop_column("documentation")
