"""Alembic environment: WareRoom's tables (the scheduler's job table is apscheduler's own)."""

from typing import Any

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import bot.migrations.env_models  # noqa: F401  (registers every table)
from incidents.database import make_engine
from incidents.inventory.search import TEXT_INDEX_PREFIX

_NOT_OURS = {"apscheduler_jobs"}
_MIGRATION_LOCK_KEY = 7_202_612  # pg_advisory_xact_lock: processes starting together migrate one after the other


def _include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (type_ == "table" and name in _NOT_OURS) and not (name or "").startswith(TEXT_INDEX_PREFIX)


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url
    connectable = context.config.attributes.get("connection")
    if connectable is None:
        engine = make_engine(url)
        with engine.connect() as connection:
            _run(connection, url)
        engine.dispose()
    else:
        _run(connectable, url)


def _run(connection: Any, url: str) -> None:
    context.configure(connection=connection, target_metadata=SQLModel.metadata, include_object=_include,
                      render_as_batch=url.startswith("sqlite"), compare_type=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        context.run_migrations()


run_migrations_online()
