"""evidence: pictures attached to incident steps, by sha256

Revision ID: 7c1e5a9d3b20
Revises: 7dfa9ecae291
Create Date: 2026-11-30 10:20:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '7c1e5a9d3b20'
down_revision: str | None = "7dfa9ecae291"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'evidencefile',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('step_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('size_bytes', sa.Integer(), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('location_removed', sa.Boolean(), nullable=False),
        sa.Column('used', sa.Boolean(), nullable=False),
        sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('actor_person_id', sa.Integer(), nullable=True),
        sa.Column('stored_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['actor_person_id'], ['person.id']),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('evidencefile', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidencefile_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidencefile_sha256'), ['sha256'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('evidencefile', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidencefile_sha256'))
        batch_op.drop_index(batch_op.f('ix_evidencefile_incident_id'))
    op.drop_table('evidencefile')
