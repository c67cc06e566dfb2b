"""The tamper-evident audit trail: append-only rows chained by sha256."""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, Table, text
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from incidents import appends
from incidents.actors import Actor
from incidents.clock import utcnow
from incidents.tables import AuditEvent

GENESIS = "0" * 64
CHAIN_LOCK_KEY = 7_202_611  # pg_advisory_xact_lock id that serialises appends to the chain
_TAIL = "wareroom.audit_tail"  # session.info key: (transaction, hash of its last append)
# Built once, reused with their cache keys (incidents.service._FIND_OPEN). Two statements, not one: the tail
# must be read by a statement that starts after the lock is held (its snapshot, under READ COMMITTED).
_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_TAIL_HASH = select(AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1)


_HASHED = ("at", "incident_id", "action", "actor_person_id", "actor_name", "actor_roles", "platform",
           "platform_user_id", "object_type", "object_id", "before", "after", "reason")  # what a row's hash covers


def _canonical(row: AuditEvent) -> str:
    return _canonical_values({name: getattr(row, name) for name in _HASHED})


def _canonical_values(values: Mapping[Any, Any]) -> str:
    """The canonical JSON of a row's hashed columns (``_HASHED``), given as a mapping by name (a dict, a
    Core row's ``_mapping``)."""
    body = {name: values[name] for name in _HASHED}
    body["at"] = values["at"].isoformat(timespec="microseconds")
    body["actor_roles"] = list(values["actor_roles"])
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def row_hash(prev_hash: str, row: AuditEvent) -> str:
    """sha256 over the previous hash and the row's canonical JSON."""
    return hashlib.sha256((prev_hash + _canonical(row)).encode()).hexdigest()


def _last_hash(session: Session) -> str:
    """The chain's tail. The first append of a transaction locks the chain and reads it; later appends
    of the same transaction reuse what the previous one wrote."""
    transaction = session.get_transaction()
    cached = session.info.get(_TAIL)
    if cached is not None and cached[0] is transaction:
        return str(cached[1])
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK, {"key": CHAIN_LOCK_KEY})
    last = session.exec(_TAIL_HASH).first()
    return last or GENESIS


def _chained(
    session: Session, *, action: str, actor: Actor, incident_id: int | None, object_type: str, object_id: str | None,
    before: dict[str, Any] | None, after: dict[str, Any] | None, reason: str | None, at: datetime | None,
) -> dict[str, Any]:
    """The next row's column values, chained to the tail, which it becomes."""
    prev = _last_hash(session)
    values: dict[str, Any] = {
        "at": at or utcnow(), "incident_id": incident_id, "action": action, "actor_person_id": actor.person_id,
        "actor_name": actor.name, "actor_roles": list(actor.roles), "platform": actor.platform,
        "platform_user_id": actor.platform_user_id, "object_type": object_type,
        "object_id": object_id if object_id is not None else (str(incident_id) if incident_id else None),
        "before": before, "after": after, "reason": reason, "prev_hash": prev,
    }
    values["hash"] = hashlib.sha256((prev + _canonical_values(values)).encode()).hexdigest()
    session.info[_TAIL] = (session.get_transaction(), values["hash"])
    return values


def append(
    session: Session,
    *,
    action: str,
    actor: Actor,
    incident_id: int | None = None,
    object_type: str = "incident",
    object_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    at: datetime | None = None,
) -> str:
    """Chain one audit event to the last one and keep it for the transaction's next write of kept rows
    (``incidents.appends``: the next ``record``, ``write_pending`` or the commit), so that many appends cost
    one INSERT. Returns the row's hash.

    The chain is locked and its tail read at the first append of a transaction (``_last_hash``); later appends
    chain to the one before them in memory and are inserted in the order they were made."""
    values = _chained(session, action=action, actor=actor, incident_id=incident_id, object_type=object_type,
                      object_id=object_id, before=before, after=after, reason=reason, at=at)
    appends.add(session, AuditEvent, values)
    return str(values["hash"])


def write_pending(session: Session) -> None:
    """Insert the audit events ``append`` kept for this transaction (one executemany)."""
    appends.write(session, AuditEvent)


def record(
    session: Session,
    *,
    action: str,
    actor: Actor,
    incident_id: int | None = None,
    object_type: str = "incident",
    object_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one audit event in the caller's transaction, chained to the last one, and flush it (its ``id`` is
    set on return), after the events ``append`` kept before it."""
    values = _chained(session, action=action, actor=actor, incident_id=incident_id, object_type=object_type,
                      object_id=object_id, before=before, after=after, reason=reason, at=at)
    write_pending(session)
    row = AuditEvent(**values)
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True, slots=True)
class ChainReport:
    """Outcome of walking the chain; ``first_bad_id`` names the first altered row or the row after a gap."""

    checked: int
    ok: bool
    first_bad_id: int | None = None
    problem: str | None = None


_TABLE: Table = AuditEvent.__table__  # type: ignore[attr-defined]
_CHAIN_COLUMNS = (_TABLE.c.id, _TABLE.c.prev_hash, _TABLE.c.hash, *(_TABLE.c[name] for name in _HASHED))


def chain_rows(after_id: int = 0) -> Select[Any]:
    """The Core statement of the rows after ``after_id`` in id order, for ``verify_rows``: the columns a check
    reads as plain rows, no ORM objects (building an ``AuditEvent`` per row cost more than hashing it)."""
    return core_select(*_CHAIN_COLUMNS).where(_TABLE.c.id > after_id).order_by(_TABLE.c.id)


def verify_rows(rows: Iterable[Row[Any]], *, start: str = GENESIS) -> ChainReport:
    """Walk rows of ``chain_rows`` in id order (from ``start``, the hash before the first of them) and report
    the first one whose hash or link does not hold."""
    prev = start
    checked = 0
    for row in rows:
        assert row.id is not None
        if row.prev_hash != prev:
            return ChainReport(
                checked, False, row.id,
                f"row {row.id}: its prev_hash does not match the row before it: a row before it was "
                "removed or altered",
            )
        if hashlib.sha256((prev + _canonical_values(row._mapping)).encode()).hexdigest() != row.hash:
            return ChainReport(checked, False, row.id, f"row {row.id}: its content was altered after it was written")
        prev = row.hash
        checked += 1
    return ChainReport(checked, True)


def verify_chain(session: Session) -> ChainReport:
    """Verify the whole audit trail in the database (Core rows, 1,000 at a time)."""
    return verify_rows(session.execute(chain_rows().execution_options(yield_per=1000)))


def trail(session: Session, *, incident_id: int) -> list[AuditEvent]:
    """An incident's audit events in order."""
    query = select(AuditEvent).where(AuditEvent.incident_id == incident_id).order_by(col(AuditEvent.id))
    return list(session.exec(query))
