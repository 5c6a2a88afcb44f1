"""execution results, scenario results, evidence, fix attempts, pull request links (issue 5)

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _run_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "execution_results",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("pack_revision", sa.Integer(), nullable=True),
        sa.Column("manifest_hash", sa.String(length=128), nullable=True),
        sa.Column("scenario_ids", sa.JSON(), nullable=False),
        sa.Column("stop_reason", sa.String(length=32), nullable=True),
        sa.Column("thread_id", sa.String(length=128), nullable=True),
        sa.Column("turn_ids", sa.JSON(), nullable=False),
        sa.Column("prompt_version", sa.String(length=64), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("codex_s", sa.Float(), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _run_fk(),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_table(
        "scenario_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reported_status", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        _run_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "attempt", "scenario_id", name="uq_scenario_results_attempt"),
    )
    with op.batch_alter_table("scenario_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scenario_results_run_id"), ["run_id"], unique=False)
    op.create_table(
        "evidence",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("turn_id", sa.String(length=128), nullable=True),
        sa.Column("scenario_ids", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _run_fk(),
        sa.PrimaryKeyConstraint("run_id", "id"),
    )
    op.create_table(
        "fix_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("scenario_ids", sa.JSON(), nullable=False),
        sa.Column("turn_id", sa.String(length=128), nullable=True),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.Column("rerun_outcome", sa.String(length=16), nullable=False),
        sa.Column("evidence_ids", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        _run_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "number", name="uq_fix_attempts_number"),
    )
    with op.batch_alter_table("fix_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fix_attempts_run_id"), ["run_id"], unique=False)
    op.create_table(
        "pull_request_links",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("repository", sa.String(length=255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=512), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("scenario_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _run_fk(),
        sa.PrimaryKeyConstraint("run_id"),
    )


def downgrade() -> None:
    op.drop_table("pull_request_links")
    with op.batch_alter_table("fix_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fix_attempts_run_id"))
    op.drop_table("fix_attempts")
    op.drop_table("evidence")
    with op.batch_alter_table("scenario_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scenario_results_run_id"))
    op.drop_table("scenario_results")
    op.drop_table("execution_results")
