"""stock: a text index over item names (SQLite FTS5 trigram, PostgreSQL pg_trgm) for /stock by name

Revision ID: 7c3e91b0d5a4
Revises: 7c1e5a9d3b20
Create Date: 2026-11-30 10:20:00.000000

SQLite: ``item_name_fts`` is an external-content FTS5 table over ``item`` (name_zh, name_en, sku) with
the trigram tokenizer, kept in step by three triggers; ``item_name_vocab`` (fts5vocab) gives how many
items hold each trigram. A later batch migration that recreates ``item``
on SQLite must recreate these triggers.

PostgreSQL: pg_trgm (in schema public unless it is already installed elsewhere) and GIN trigram
indexes on each name and on the three fields together.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '7c3e91b0d5a4'
down_revision: str | None = "7c1e5a9d3b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE = (
    "CREATE VIRTUAL TABLE item_name_fts USING fts5(name_zh, name_en, sku, content='item', content_rowid='id', "
    "tokenize='trigram')",
    "CREATE TRIGGER item_name_fts_insert AFTER INSERT ON item BEGIN "
    "INSERT INTO item_name_fts(rowid, name_zh, name_en, sku) VALUES (new.id, new.name_zh, new.name_en, new.sku); END",
    "CREATE TRIGGER item_name_fts_delete AFTER DELETE ON item BEGIN "
    "INSERT INTO item_name_fts(item_name_fts, rowid, name_zh, name_en, sku) "
    "VALUES ('delete', old.id, old.name_zh, old.name_en, old.sku); END",
    "CREATE TRIGGER item_name_fts_update AFTER UPDATE OF name_zh, name_en, sku ON item BEGIN "
    "INSERT INTO item_name_fts(item_name_fts, rowid, name_zh, name_en, sku) "
    "VALUES ('delete', old.id, old.name_zh, old.name_en, old.sku); "
    "INSERT INTO item_name_fts(rowid, name_zh, name_en, sku) VALUES (new.id, new.name_zh, new.name_en, new.sku); END",
    "INSERT INTO item_name_fts(item_name_fts) VALUES ('rebuild')",
    "CREATE VIRTUAL TABLE item_name_vocab USING fts5vocab(item_name_fts, 'row')",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE:
            op.execute(statement)
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    schema = op.get_bind().execute(sa.text(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'")).scalar_one()
    ops = f"{schema}.gin_trgm_ops"
    op.execute(f"CREATE INDEX item_name_trgm_zh ON item USING gin (name_zh {ops})")
    op.execute(f"CREATE INDEX item_name_trgm_en ON item USING gin (name_en {ops})")
    op.execute(f"CREATE INDEX item_name_trgm_all ON item USING gin ((name_zh || ' ' || name_en || ' ' || sku) {ops})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER item_name_fts_{trigger}")
        op.execute("DROP TABLE item_name_vocab")
        op.execute("DROP TABLE item_name_fts")
        return
    for index in ("zh", "en", "all"):
        op.execute(f"DROP INDEX item_name_trgm_{index}")
