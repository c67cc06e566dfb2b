"""Engine and unit of work. SQLite runs in WAL mode with immediate transactions; PostgreSQL as is."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from incidents.leases import check_fence


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _sqlite_begin).
    dbapi_connection.isolation_level = None


def _sqlite_begin_immediate(connection: Any) -> None:
    # Take the write lock at BEGIN: the audit chain reads the last hash and appends after it,
    # which must not interleave with another writer.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_begin_deferred(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def make_engine(url: str, *, for_writes: bool = True) -> Engine:
    """An engine for ``url`` with the settings WareRoom relies on.

    On SQLite, write engines take the write lock when a transaction begins; read engines do not,
    so that (in WAL mode) reads never wait for or block a writer.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate if for_writes else _sqlite_begin_deferred)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


class Database:
    """Owns the engine; ``unit_of_work()`` is one transaction that commits on success."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.read_engine = make_engine(url, for_writes=False) if url.startswith("sqlite") else self.engine

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: the state change, its audit events and its outbox rows.

        Inside ``incidents.leases.fenced(lease)`` the commit first checks that the lease is still
        this process's (LeaseLost otherwise, and nothing is written).
        """
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                check_fence(session)
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A session for reads only (it never takes SQLite's write lock)."""
        with Session(self.read_engine, expire_on_commit=False) as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()
