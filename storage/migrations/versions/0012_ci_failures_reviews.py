"""CI failures and scenario reviews: the loop that starts without being asked (issue 13)

Revision ID: 0012_ci_failures_reviews
Revises: 0011_executors
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_ci_failures_reviews"
down_revision = "0011_executors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ci_failures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("repository", sa.String(length=255), nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ci_id", sa.BigInteger(), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=False),
        sa.Column("head_branch", sa.String(length=255), nullable=True),
        sa.Column("head_repository", sa.String(length=255), nullable=True),
        sa.Column("workflow", sa.Text(), nullable=False),
        sa.Column("html_url", sa.Text(), nullable=False),
        sa.Column("pull_number", sa.Integer(), nullable=True),
        sa.Column("issue_number", sa.Integer(), nullable=True),
        sa.Column("base_ref", sa.String(length=255), nullable=True),
        sa.Column("fork", sa.Boolean(), nullable=False),
        sa.Column("jobs", sa.JSON(), nullable=False),
        sa.Column("check_run_id", sa.BigInteger(), nullable=True),
        sa.Column("delivery_id", sa.String(length=64), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("repository", "head_sha", "kind", "ci_id", name="uq_ci_failures_run"),
    )
    op.create_table(
        "scenario_reviews",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("repository", sa.String(length=255), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("source_ids", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("commit_sha", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("repository", "revision", "scenario_id", name="uq_scenario_reviews"),
    )


def downgrade() -> None:
    op.drop_table("scenario_reviews")
    op.drop_table("ci_failures")
