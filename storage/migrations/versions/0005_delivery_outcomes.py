"""delivery outcomes in their own narrow table (after 0004)

``deliveries.status``/``error`` move to ``delivery_outcomes``: recording an
outcome then inserts a small row instead of rewriting the delivery's row with
its whole payload. A delivery without an outcome row is pending, as
``status = 'received'`` was. Outcomes carried over get ``finished_at`` =
``received_at`` (the real time was not kept).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_outcomes",
        sa.Column("delivery_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"]),
        sa.PrimaryKeyConstraint("delivery_id"),
    )
    op.execute(
        "INSERT INTO delivery_outcomes (delivery_id, status, error, finished_at)"
        " SELECT id, status, error, received_at FROM deliveries WHERE status <> 'received'"
    )
    op.drop_index("ix_deliveries_status", table_name="deliveries")
    # Plain ALTER TABLE … DROP COLUMN (SQLite >= 3.35, PostgreSQL), not a batch
    # table rebuild, which would copy every payload.
    op.drop_column("deliveries", "error")
    op.drop_column("deliveries", "status")


def downgrade() -> None:
    op.add_column(
        "deliveries", sa.Column("status", sa.String(length=16), nullable=False, server_default="received")
    )
    op.add_column("deliveries", sa.Column("error", sa.Text(), nullable=True))
    op.execute(
        "UPDATE deliveries SET"
        " status = (SELECT o.status FROM delivery_outcomes o WHERE o.delivery_id = deliveries.id),"
        " error = (SELECT o.error FROM delivery_outcomes o WHERE o.delivery_id = deliveries.id)"
        " WHERE id IN (SELECT delivery_id FROM delivery_outcomes)"
    )
    op.create_index("ix_deliveries_status", "deliveries", ["status"], unique=False)
    op.drop_table("delivery_outcomes")
