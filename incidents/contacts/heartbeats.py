"""Heartbeats that integrations promise (an Alertmanager receiver, a WMS, a sensor gateway): each declared
name must call in at least every ``timeout_seconds``; silence beyond it is a system incident (as Grafana
OnCall and Alerta heartbeats do)."""

from collections.abc import Mapping
from datetime import datetime

from sqlmodel import Session, col, select

from incidents.clock import as_utc
from incidents.contacts.tables import ExpectedHeartbeat


def declare(session: Session, expected: Mapping[str, int], *, now: datetime) -> None:
    """Make the table match ``expected`` (name → timeout in seconds); a new name's silence counts from now."""
    for name, timeout in expected.items():
        row = session.get(ExpectedHeartbeat, name) or ExpectedHeartbeat(name=name, timeout_seconds=timeout,
                                                                         declared_at=now)
        row.timeout_seconds = timeout
        session.add(row)
    for row in session.exec(select(ExpectedHeartbeat).where(col(ExpectedHeartbeat.name).not_in(list(expected)))):
        session.delete(row)


def beat(session: Session, name: str, *, now: datetime) -> ExpectedHeartbeat | None:
    """Record a heartbeat from ``name``; None when no such heartbeat is declared."""
    row = session.get(ExpectedHeartbeat, name)
    if row is not None:
        row.last_seen_at = now
        session.add(row)
    return row


def silent(session: Session, *, now: datetime) -> list[ExpectedHeartbeat]:
    """Declared heartbeats silent for longer than their timeout that have no system incident yet."""
    rows = session.exec(select(ExpectedHeartbeat).where(col(ExpectedHeartbeat.incident_id).is_(None))).all()
    return [row for row in rows if (now - as_utc(row.last_seen_at or row.declared_at)).total_seconds()
            > row.timeout_seconds]
