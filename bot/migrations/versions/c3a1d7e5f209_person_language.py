"""people: each person's language (zh, en, both, or a catalogue's code) for what is said to them alone

Revision ID: c3a1d7e5f209
Revises: 7c3e91b0d5a4
Create Date: 2026-11-30 10:15:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = 'c3a1d7e5f209'
down_revision: str | None = '7c3e91b0d5a4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sqlmodel.sql.sqltypes.AutoString(), nullable=False,
                                      server_default='both'))


def downgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('language')
