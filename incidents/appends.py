"""Rows appended in order and inserted together: one executemany per table instead of one INSERT per row.

The ORM inserts rows with a database-generated id one statement at a time on SQLite (it needs each id
back, and SQLite cannot return them in the order of the rows: SQLAlchemy's "insertmanyvalues" support
matrix), so a transaction that writes twenty rows pays twenty round trips. Rows nobody needs the id of
within the transaction (audit events, outbox rows, step rows of a new incident) are kept here as plain
column values and inserted with one Core ``executemany`` per table: ``sqlite3``'s ``executemany`` runs
them in order under the write lock, PostgreSQL receives one multi-row ``INSERT … VALUES`` (SQLAlchemy's
insertmanyvalues) whose rows take their ids in the order given.

Order: ``write`` flushes the session's pending ORM objects first, so a row appended here after an ORM row
of the same table was added still gets the larger id; code that adds an ORM row of a table with rows
waiting here writes them first (``audit.record``, ``outbox.enqueue``). Whatever is still waiting at commit
is written then (a ``before_commit`` listener), and before a query of the transaction runs with autoflush on
(``do_orm_execute``), as pending ORM objects would be; rows of a transaction that rolled back are dropped.
"""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Insert, Table, event, insert
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlmodel import SQLModel

_KEY = "wareroom.appends"  # session.info: {table: [rows]} of the transaction under way
_INSERTS: dict[Table, Insert] = {}


def _table(model: type[SQLModel]) -> Table:
    table = getattr(model, "__table__", None)
    assert isinstance(table, Table), f"{model.__name__} is not a table model"
    return table


def add(session: Session, model: type[SQLModel], row: Mapping[str, Any]) -> None:
    """Keep ``row`` (column name → value, every column the table's rows of this transaction give) for ``model``'s
    table, after the rows kept before it."""
    tables: dict[Table, list[dict[str, Any]]] = session.info.setdefault(_KEY, {})
    tables.setdefault(_table(model), []).append(dict(row))


def waiting(session: Session, model: type[SQLModel]) -> int:
    """How many rows of ``model``'s table wait to be written in this transaction."""
    return len(session.info.get(_KEY, {}).get(_table(model), ()))


def write(session: Session, model: type[SQLModel] | None = None) -> None:
    """Insert the waiting rows of ``model``'s table (of every table when None), each table's with one
    executemany, after flushing the session's pending ORM objects."""
    tables: dict[Table, list[dict[str, Any]]] = session.info.get(_KEY, {})
    if not tables:
        return
    chosen = list(tables) if model is None else [t for t in tables if t is _table(model)]
    if not chosen:
        return
    session.flush()
    for table in chosen:
        rows = tables.pop(table)
        statement = _INSERTS.get(table)
        if statement is None:
            statement = _INSERTS[table] = insert(table)  # built once: its cache key and compiled form are reused
        session.connection().execute(statement, rows)


@event.listens_for(Session, "before_commit")
def _write_at_commit(session: Session) -> None:
    write(session)


@event.listens_for(Session, "after_transaction_end")
def _drop_at_end(session: Session, transaction: SessionTransaction) -> None:
    """Rows of a transaction that rolled back are not written by the next one."""
    if transaction.parent is None:
        session.info.pop(_KEY, None)


@event.listens_for(Session, "do_orm_execute")
def _write_before_query(state: ORMExecuteState) -> None:
    """Kept rows are seen by the transaction's own queries as pending ORM objects are: written before a query
    runs, unless autoflush is off (``session.no_autoflush``)."""
    if state.session.autoflush and state.is_select and state.session.info.get(_KEY):
        write(state.session)
