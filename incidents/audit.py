"""The tamper-evident audit trail: append-only rows chained by sha256."""

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Required, TypedDict

from sqlalchemy import insert, text
from sqlmodel import Session, col, select

from incidents.actors import Actor
from incidents.clock import utcnow
from incidents.tables import AuditEvent

GENESIS = "0" * 64
CHAIN_LOCK_KEY = 7_202_611  # pg_advisory_xact_lock id that serialises appends to the chain
_TAIL = "wareroom.audit_tail"  # session.info key: (transaction, hash of its last append)


_HASHED = ("at", "incident_id", "action", "actor_person_id", "actor_name", "actor_roles", "platform",
           "platform_user_id", "object_type", "object_id", "before", "after", "reason")  # what a row's hash covers


def _canonical(row: AuditEvent) -> str:
    return _canonical_values({name: getattr(row, name) for name in _HASHED})


def _canonical_values(values: Mapping[str, Any]) -> str:
    """The canonical JSON of a row's hashed columns (``_HASHED``), given as a mapping."""
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
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    last = session.exec(select(AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    return last or GENESIS


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
    flush: bool = True,
) -> AuditEvent:
    """Append one audit event in the caller's transaction, chained to the last one.

    With ``flush=False`` the row stays pending for the caller's next flush (or the commit): appends made
    so are chained in memory, each to the one before, and inserted in the order they were made, so a
    caller writing many rows at once (the step cards of a new incident) pays one flush, not one each.
    The chain stays locked for the whole transaction from its first append (``_last_hash``)."""
    prev = _last_hash(session)
    row = AuditEvent(
        at=at or utcnow(),
        incident_id=incident_id,
        action=action,
        actor_person_id=actor.person_id,
        actor_name=actor.name,
        actor_roles=list(actor.roles),
        platform=actor.platform,
        platform_user_id=actor.platform_user_id,
        object_type=object_type,
        object_id=object_id if object_id is not None else (str(incident_id) if incident_id else None),
        before=before,
        after=after,
        reason=reason,
        prev_hash=prev,
        hash="",
    )
    row.hash = row_hash(prev, row)
    session.add(row)
    if flush:
        session.flush()
    session.info[_TAIL] = (session.get_transaction(), row.hash)
    return row


class AuditEntry(TypedDict, total=False):
    """One event for ``record_many``: ``record``'s arguments of the same names (``action`` is required)."""

    action: Required[str]
    incident_id: int | None
    object_type: str
    object_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None


def record_many(session: Session, entries: Sequence[AuditEntry], *, actor: Actor, at: datetime) -> None:
    """Append several events of one actor at once in the caller's transaction: chained in order after the last
    one and inserted with one batched INSERT, without an ORM object each (a group's hundreds of alerts). The
    same rows and hashes as ``record`` called for each in turn. Audit rows still pending in the session are
    flushed first, so the rows' ids follow the chain; ``record`` after it chains to the last of them."""
    if not entries:
        return
    session.flush()
    prev = _last_hash(session)
    rows: list[dict[str, Any]] = []
    for entry in entries:
        incident_id, object_id = entry.get("incident_id"), entry.get("object_id")
        values: dict[str, Any] = {
            "at": at, "incident_id": incident_id, "action": entry["action"], "actor_person_id": actor.person_id,
            "actor_name": actor.name, "actor_roles": list(actor.roles), "platform": actor.platform,
            "platform_user_id": actor.platform_user_id, "object_type": entry.get("object_type", "incident"),
            "object_id": object_id if object_id is not None else (str(incident_id) if incident_id else None),
            "before": entry.get("before"), "after": entry.get("after"), "reason": entry.get("reason"),
            "prev_hash": prev,
        }
        values["hash"] = prev = hashlib.sha256((prev + _canonical_values(values)).encode()).hexdigest()
        rows.append(values)
    session.execute(insert(AuditEvent), rows)
    session.info[_TAIL] = (session.get_transaction(), prev)


@dataclass(frozen=True, slots=True)
class ChainReport:
    """Outcome of walking the chain; ``first_bad_id`` names the first altered row or the row after a gap."""

    checked: int
    ok: bool
    first_bad_id: int | None = None
    problem: str | None = None


def verify_rows(rows: Iterable[AuditEvent], *, start: str = GENESIS) -> ChainReport:
    """Walk rows in id order (from ``start``, the hash before the first of them) and report the first
    one whose hash or link does not hold."""
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
        if row_hash(prev, row) != row.hash:
            return ChainReport(checked, False, row.id, f"row {row.id}: its content was altered after it was written")
        prev = row.hash
        checked += 1
    return ChainReport(checked, True)


def verify_chain(session: Session) -> ChainReport:
    """Verify the whole audit trail in the database."""
    rows = session.exec(select(AuditEvent).order_by(col(AuditEvent.id)).execution_options(yield_per=1000))
    return verify_rows(rows)


def trail(session: Session, *, incident_id: int) -> list[AuditEvent]:
    """An incident's audit events in order."""
    query = select(AuditEvent).where(AuditEvent.incident_id == incident_id).order_by(col(AuditEvent.id))
    return list(session.exec(query))
