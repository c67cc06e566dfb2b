"""intake: sensor samples keep their unit, what the device sent, and the out-of-calibration mark

Revision ID: 4e7caa9742f3
Revises: bedb2e14060f
Create Date: 2026-11-30 06:52:07.138780
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '4e7caa9742f3'
down_revision: str | None = 'bedb2e14060f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sensorsample', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('raw_value', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('raw_unit', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('out_of_calibration', sa.Boolean(), nullable=False, server_default=sa.false()))



def downgrade() -> None:
    with op.batch_alter_table('sensorsample', schema=None) as batch_op:
        batch_op.drop_column('out_of_calibration')
        batch_op.drop_column('raw_unit')
        batch_op.drop_column('raw_value')
        batch_op.drop_column('unit')

