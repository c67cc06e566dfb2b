"""The migrations create exactly the tables the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import bot.migrations.env_models  # noqa: F401  (every table module)
from incidents.database import Database
from incidents.inventory.search import TEXT_INDEX_PREFIX


def test_migrated_schema_matches_the_models(database: Database) -> None:
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    ours = [d for d in diff if "apscheduler_jobs" not in str(d) and f"'{TEXT_INDEX_PREFIX}" not in str(d)
            and f"name='{TEXT_INDEX_PREFIX}" not in str(d)]
    assert ours == []
