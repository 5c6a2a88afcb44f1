"""source manifests (issue 3): manifests, manifest_sources, manifest_confirmations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 16:47:32.338950

Generated with alembic autogenerate against 0001, reviewed, and cut to the
three tables of this issue (other tables appended to storage/models.py in
parallel belong to their own migrations).
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('manifests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('repository', sa.String(length=255), nullable=False),
    sa.Column('commit_sha', sa.String(length=64), nullable=False),
    sa.Column('manifest_hash', sa.String(length=64), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('notes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['manifests.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('manifests', schema=None) as batch_op:
        batch_op.create_index('ix_manifests_repository_created', ['repository', 'created_at'], unique=False)

    op.create_table('manifest_confirmations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('manifest_id', sa.Integer(), nullable=False),
    sa.Column('manifest_hash', sa.String(length=64), nullable=False),
    sa.Column('confirmed_by', sa.String(length=255), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['manifest_id'], ['manifests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('manifest_confirmations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manifest_confirmations_manifest_hash'), ['manifest_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_manifest_confirmations_manifest_id'), ['manifest_id'], unique=False)

    op.create_table('manifest_sources',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('manifest_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('blob_sha', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('selected', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['manifest_id'], ['manifests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('manifest_sources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manifest_sources_manifest_id'), ['manifest_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('manifest_sources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manifest_sources_manifest_id'))
    op.drop_table('manifest_sources')
    with op.batch_alter_table('manifest_confirmations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manifest_confirmations_manifest_id'))
        batch_op.drop_index(batch_op.f('ix_manifest_confirmations_manifest_hash'))
    op.drop_table('manifest_confirmations')
    with op.batch_alter_table('manifests', schema=None) as batch_op:
        batch_op.drop_index('ix_manifests_repository_created')
    op.drop_table('manifests')
