"""pack revisions (issue 4): pack_revisions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 17:06:46.444809

Generated with alembic autogenerate against 0002, reviewed, and cut to the
table of this issue (the execute tables appended to storage/models.py in
parallel belong to their own migration, 0004).
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pack_revisions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('repository', sa.String(length=255), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('issue_number', sa.Integer(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('manifest_id', sa.Integer(), nullable=True),
    sa.Column('manifest_hash', sa.String(length=64), nullable=True),
    sa.Column('model', sa.String(length=128), nullable=False),
    sa.Column('thread_id', sa.String(length=128), nullable=False),
    sa.Column('turn_ids', sa.JSON(), nullable=False),
    sa.Column('branch', sa.String(length=255), nullable=True),
    sa.Column('head_sha', sa.String(length=64), nullable=True),
    sa.Column('prompt_version', sa.String(length=64), nullable=False),
    sa.Column('token_usage', sa.JSON(), nullable=False),
    sa.Column('timings', sa.JSON(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('change_summary', sa.JSON(), nullable=False),
    sa.Column('commit_sha', sa.String(length=64), nullable=True),
    sa.Column('pr_number', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['manifest_id'], ['manifests.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('repository', 'revision', name='uq_pack_revisions_repository_revision')
    )
    with op.batch_alter_table('pack_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pack_revisions_run_id'), ['run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pack_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pack_revisions_run_id'))

    op.drop_table('pack_revisions')
