"""Leases held in PostgreSQL, with fencing tokens: work that must happen once runs where the lease is.

A lease is one row per name: its holder, a fencing token that grows by one at every change of
holder, and an expiry on the **database's** clock (``clock_timestamp()``), so the clocks of the
processes never enter into it. The holder renews before expiry; another process takes the lease
only once it has expired. A write that must not happen after a takeover runs inside
``fenced(lease)``: ``Database.unit_of_work`` then reads the lease row ``FOR SHARE`` just before
commit and refuses (``LeaseLost``) when the token moved on. The share lock makes a concurrent
takeover wait for that commit, so no fenced write of an old holder commits after a new holder
took over, even if the old one was paused (GC, SIGSTOP, a slow disk) past its expiry.

SQLite keeps WareRoom's one-process mode: ``SoleLeases`` grants every lease at once and fences
nothing (there is no other process to fence out).
"""

import contextvars
import logging
import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import BigInteger, Column, TextClause, create_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel

log = logging.getLogger(__name__)


class Lease(SQLModel, table=True):
    """One named lease: who holds it, the fencing token of that holding, and until when (database time)."""

    name: str = Field(primary_key=True, max_length=100)
    holder: str = Field(max_length=200)
    token: int = Field(sa_column=Column(BigInteger, nullable=False))
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime


class LeaseLost(RuntimeError):
    """A fenced write found that another process holds the lease now; the write was rolled back."""

    def __init__(self, name: str, token: int, current: int | None) -> None:
        super().__init__(f"lease {name!r} with token {token} is no longer held (current token: {current})")
        self.name, self.token, self.current = name, token, current


@dataclass(frozen=True, slots=True)
class HeldLease:
    """What a holder knows of its lease: the name, its own id and the fencing token of this holding."""

    name: str
    holder: str
    token: int


@dataclass(frozen=True, slots=True)
class LeaseState:
    """A lease as the database sees it now; ``expires_in`` in seconds (negative: expired)."""

    name: str
    holder: str
    token: int
    acquired_at: datetime
    renewed_at: datetime
    expires_in: float


class LeaseBackend(Protocol):
    """Where leases are kept. Every call is one short transaction; errors propagate (the caller retries)."""

    def try_acquire(self, *, name: str, holder: str, ttl_seconds: float) -> HeldLease | None: ...

    def renew(self, lease: HeldLease, *, ttl_seconds: float) -> bool: ...

    def release(self, lease: HeldLease) -> None: ...

    def state(self, name: str) -> LeaseState | None: ...

    def live(self, prefix: str) -> int: ...

    def dispose(self) -> None: ...


def holder_id() -> str:
    """A name for this process that no other process shares: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


_ACQUIRE = text("""
INSERT INTO lease (name, holder, token, acquired_at, renewed_at, expires_at)
VALUES (:name, :holder, 1, clock_timestamp(), clock_timestamp(), clock_timestamp() + make_interval(secs => :ttl))
ON CONFLICT (name) DO UPDATE
   SET holder = EXCLUDED.holder, token = lease.token + 1, acquired_at = EXCLUDED.acquired_at,
       renewed_at = EXCLUDED.renewed_at, expires_at = EXCLUDED.expires_at
 WHERE lease.expires_at <= clock_timestamp()
RETURNING token
""")
_RENEW = text("""
UPDATE lease SET renewed_at = clock_timestamp(), expires_at = clock_timestamp() + make_interval(secs => :ttl)
 WHERE name = :name AND holder = :holder AND token = :token
""")
_RELEASE = text("""
UPDATE lease SET expires_at = clock_timestamp() WHERE name = :name AND holder = :holder AND token = :token
""")
_STATE = text("""
SELECT holder, token, acquired_at, renewed_at, EXTRACT(EPOCH FROM expires_at - clock_timestamp()) AS expires_in
  FROM lease WHERE name = :name
""")
_FENCE = text("SELECT token FROM lease WHERE name = :name FOR SHARE")
_FORGET = text("DELETE FROM lease WHERE name LIKE :pattern AND expires_at < clock_timestamp() - interval '1 hour'")
_LIVE = text("SELECT count(*) FROM lease WHERE name LIKE :pattern AND expires_at > clock_timestamp()")


class PostgresLeases:
    """Leases in PostgreSQL's ``lease`` table, on a small engine of their own.

    The heartbeat must not queue behind the application's connection pool, so renewals use connections
    of their own: four, and up to four more while every lease loop of the process (the scheduler, one per
    outbox platform, one per intake partition held, the process's own) renews at once; each statement
    gives up after ``statement_timeout_ms``.
    """

    def __init__(self, url: str, *, statement_timeout_ms: int = 5000) -> None:
        self.engine: Engine = create_engine(url, pool_size=4, max_overflow=4, pool_timeout=5, pool_pre_ping=True)
        self.statement_timeout_ms = statement_timeout_ms

    def _execute(self, statement: TextClause, values: dict[str, object]) -> list[tuple[object, ...]]:
        with self.engine.begin() as conn:
            conn.execute(text("SELECT set_config('statement_timeout', :ms, true)"),
                         {"ms": str(self.statement_timeout_ms)})
            result = conn.execute(statement, values)
            return [tuple(row) for row in result] if result.returns_rows else [(result.rowcount,)]

    def try_acquire(self, *, name: str, holder: str, ttl_seconds: float) -> HeldLease | None:
        """Take the lease if nobody holds it or its holder let it expire; the token grows by one."""
        rows = self._execute(_ACQUIRE, {"name": name, "holder": holder, "ttl": float(ttl_seconds)})
        if not rows:
            return None
        token = rows[0][0]
        assert isinstance(token, int)
        return HeldLease(name=name, holder=holder, token=token)

    def renew(self, lease: HeldLease, *, ttl_seconds: float) -> bool:
        """Push the expiry ``ttl_seconds`` past the database's now; False when the holding has ended."""
        values = {"name": lease.name, "holder": lease.holder, "token": lease.token, "ttl": float(ttl_seconds)}
        return self._execute(_RENEW, values)[0][0] == 1

    def release(self, lease: HeldLease) -> None:
        """Let the lease expire now, so that another process takes it at its next try (a clean shutdown)."""
        self._execute(_RELEASE, {"name": lease.name, "holder": lease.holder, "token": lease.token})

    def state(self, name: str) -> LeaseState | None:
        """The lease as the database sees it, or None if nobody ever took it."""
        rows = self._execute(_STATE, {"name": name})
        if not rows:
            return None
        holder, token, acquired_at, renewed_at, expires_in = rows[0]
        assert isinstance(holder, str) and isinstance(token, int)
        assert isinstance(acquired_at, datetime) and isinstance(renewed_at, datetime)
        return LeaseState(name, holder, token, acquired_at, renewed_at, float(expires_in))  # type: ignore[arg-type]

    def live(self, prefix: str) -> int:
        """How many leases named ``prefix…`` are held now; those expired over an hour ago are deleted (names
        made per process, such as ``process:<holder>``, would otherwise pile up)."""
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        self._execute(_FORGET, {"pattern": pattern})
        count = self._execute(_LIVE, {"pattern": pattern})[0][0]
        assert isinstance(count, int)
        return count

    def dispose(self) -> None:
        self.engine.dispose()


class SoleLeases:
    """The one-process mode (SQLite): every lease is held at once and for good by whoever asks."""

    def __init__(self) -> None:
        self._held: dict[str, HeldLease] = {}

    def try_acquire(self, *, name: str, holder: str, ttl_seconds: float) -> HeldLease | None:
        self._held[name] = HeldLease(name=name, holder=holder, token=1)
        return self._held[name]

    def renew(self, lease: HeldLease, *, ttl_seconds: float) -> bool:
        return self._held.get(lease.name) == lease

    def release(self, lease: HeldLease) -> None:
        self._held.pop(lease.name, None)

    def state(self, name: str) -> LeaseState | None:
        return None

    def live(self, prefix: str) -> int:
        return sum(name.startswith(prefix) for name in self._held)

    def dispose(self) -> None:
        self._held.clear()


def backend_for(url: str) -> PostgresLeases | SoleLeases:
    """PostgreSQL leases for a PostgreSQL URL; the one-process mode for anything else (SQLite)."""
    return PostgresLeases(url) if url.startswith("postgresql") else SoleLeases()


_FENCE_VAR: contextvars.ContextVar[HeldLease | None] = contextvars.ContextVar("wareroom_fence", default=None)


@contextmanager
def fenced(lease: HeldLease) -> Iterator[None]:
    """Every ``unit_of_work`` committed inside this block (this task or thread) checks ``lease`` first."""
    reset = _FENCE_VAR.set(lease)
    try:
        yield
    finally:
        _FENCE_VAR.reset(reset)


def check_fence(session: Session) -> None:
    """Called just before commit: raise LeaseLost if the fencing lease of this context moved on.

    ``FOR SHARE`` keeps the lease row locked until this transaction ends, so a takeover (an UPDATE
    of that row) waits for the commit; a takeover that committed first is seen here and refused.
    """
    lease = _FENCE_VAR.get()
    if lease is None or session.get_bind().dialect.name != "postgresql":
        return
    current = session.execute(_FENCE, {"name": lease.name}).scalar()
    if current != lease.token:
        log.warning("fenced write refused: %s", LeaseLost(lease.name, lease.token, current))
        raise LeaseLost(lease.name, lease.token, current)
