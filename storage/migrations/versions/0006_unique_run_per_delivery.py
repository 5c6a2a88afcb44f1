"""one run per delivery and verb (after 0005)

``storage.runs.create_run`` already looks for the run of a redispatched
delivery before inserting one; the unique index makes that a guarantee of
the database. Runs without a delivery (``delivery_id`` NULL) are not
constrained: NULLs are distinct in SQLite and PostgreSQL alike.

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index("ux_runs_delivery_action", ["delivery_id", "action"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ux_runs_delivery_action")
