"""incidents: commander, drill mark, and the next acknowledge and status-update reminders

Revision ID: 7c1d2e3f4a5b
Revises: ea711882f881
Create Date: 2026-11-30 10:15:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '7c1d2e3f4a5b'
down_revision: str | None = "ea711882f881"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('commander_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('drill', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('ack_reminder_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('status_reminder_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key('fk_incident_commander_id_person', 'person', ['commander_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_constraint('fk_incident_commander_id_person', type_='foreignkey')
        batch_op.drop_column('status_reminder_at')
        batch_op.drop_column('ack_reminder_at')
        batch_op.drop_column('drill')
        batch_op.drop_column('commander_id')
