"""A group of external alerts (one Alertmanager notification) written to its incident in one go.

Alertmanager sends a whole group in each notification, hundreds or thousands of alerts. Joined one at a
time (``service.open_or_join`` for each) every alert cost a look-up of the incident, a look-up of its
alarm condition, a flush of its rows and three ORM objects (about 0.3 ms each to build with SQLModel).
Here a group's alerts cost one query for their alarm conditions and one batched INSERT each for their
Alert rows, new alarm conditions and audit events (``audit.record_many``), built as plain rows in memory.
What is written is what ``open_or_join`` and ``record_clear`` write for each alert in turn: the same rows,
the same audit events in the same order, the same hash chain.
"""

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session

from incidents import alarms, audit, service
from incidents.actors import SYSTEM
from incidents.escalation import SeverityPolicy
from incidents.lifecycle import Status
from incidents.severity import Severity
from incidents.signals import AlertSignal, SignalKind
from incidents.tables import Alert, Incident


def join_alerts(session: Session, *, incident: Incident, signals: Sequence[AlertSignal], now: datetime,
                policy_for: Callable[[Severity], SeverityPolicy]) -> None:
    """Join ``signals`` (firing alerts, most urgent first) to the open ``incident``, in order: for each an Alert
    row, its alarm condition active and an ``alert.joined`` audit event; an alert that fires again on an
    acknowledged incident whose alarm had cleared triggers it again (``service.retrigger``), and one more
    urgent than the incident raises its severity (``service.set_severity`` with ``policy_for`` of the new
    severity), each audited where it happens in the order."""
    assert incident.id is not None
    if not signals:
        return
    with session.no_autoflush:
        session.execute(insert(Alert), [service.alert_values(s, incident.id) for s in signals])
        alarms.fired_all(session, signals=signals, incident_id=incident.id, now=now)
        entries: list[audit.AuditEntry] = []
        for signal in signals:
            entries.append({"action": "alert.joined", "incident_id": incident.id,
                            "after": {"rule": signal.rule_id, "kind": signal.kind.value, "value": signal.value,
                                      "sensor": signal.sensor}})
            retriggers = signal.kind is SignalKind.FIRING and incident.cleared_at is not None \
                and Status(incident.status) is Status.ACKNOWLEDGED
            raises = Severity(signal.severity).rank < Severity(incident.severity).rank
            if retriggers or raises:  # rare: written in its place in the chain
                audit.record_many(session, entries, actor=SYSTEM, at=now)
                entries = []
            if retriggers:
                service.retrigger(session, incident=incident, policy=policy_for(signal.severity), now=now,
                                  rule_id=signal.rule_id)
            if signal.kind is SignalKind.FIRING:
                incident.cleared_at = None
            if raises:
                incident.title_zh, incident.title_en = signal.title_zh, signal.title_en
                service.set_severity(session, incident=incident, severity=signal.severity, actor=SYSTEM,
                                     reason=f"alert {signal.rule_id} raised it", now=now,
                                     policy=policy_for(signal.severity))
        audit.record_many(session, entries, actor=SYSTEM, at=now)
    session.add(incident)


def clear_alerts(session: Session, *, incident: Incident, signals: Sequence[AlertSignal], now: datetime) -> bool:
    """Note on the open ``incident`` that ``signals`` (a group's resolved alerts) cleared, in order: for each an
    Alert row, its alarm condition returned to normal and an ``alert.cleared`` audit event. True when the
    incident's alarm condition is now clear everywhere (every firing alert of it has cleared;
    ``service.still_firing``): its ``cleared_at`` is set. People still resolve it."""
    assert incident.id is not None
    with session.no_autoflush:
        session.execute(insert(Alert), [service.alert_values(s, incident.id) for s in signals])
        alarms.cleared_all(session, signals=signals, now=now)
        audit.record_many(session, [{"action": "alert.cleared", "incident_id": incident.id,
                                     "after": {"rule": signal.rule_id, "value": signal.value, "sensor": signal.sensor,
                                               "fingerprint": signal.fingerprint}} for signal in signals],
                          actor=SYSTEM, at=now)
    if incident.cleared_at is not None or service.still_firing(session, incident_id=incident.id):
        return False
    incident.cleared_at = now
    session.add(incident)
    return True
