"""A group of external alerts (one Alertmanager notification) written to its incident in one go.

Alertmanager sends a whole group in each notification, hundreds or thousands of alerts. Joined one at a
time (``service.open_or_join`` for each) every alert cost a look-up of the incident, a look-up of its
alarm condition, a flush of its rows, three ORM objects and a chained audit event. Here a notification costs
one query for its alerts' alarm conditions, one Core ``executemany`` each for its Alert rows and new alarm
conditions (plain dicts, statements built once), and ONE audit event, ``alert.group``, listing each alert it
wrote with the sha256 of the row's content (``incidents.alert_audit``: each Alert row stays tamper-evident).
The rare steps of a join (a severity raised, an incident triggered again) are their own audit events, after
the notification's, in the order of the alerts that caused them.
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, insert
from sqlmodel import Session

from incidents import alarms, alert_audit, audit, service
from incidents.actors import SYSTEM
from incidents.escalation import SeverityPolicy
from incidents.lifecycle import Status
from incidents.severity import Severity
from incidents.signals import AlertSignal, SignalKind
from incidents.tables import Alert, Incident

_INSERT_ALERTS: Insert = insert(Alert)  # on a Connection: a plain Core INSERT, built once, compiled form reused


def apply(session: Session, *, incident: Incident, joining: Sequence[AlertSignal], cleared: Sequence[AlertSignal],
          now: datetime, policy_for: Callable[[Severity], SeverityPolicy]) -> bool:
    """Write one notification to the open ``incident``: ``joining`` (firing alerts, most urgent first) then
    ``cleared`` (its resolved alerts that were firing), an Alert row each, their alarm conditions active or
    returned to normal, and one ``alert.group`` audit event listing them (``alert_audit.listed``). Then, in the
    order of ``joining``: an alert that fires again on an acknowledged incident whose alarm had cleared
    triggers it again (``service.retrigger``), one more urgent than the incident raises its severity
    (``service.set_severity`` with ``policy_for`` of the new severity), each its own audit event. True when
    the incident's alarm condition is now clear everywhere (``cleared`` was not empty and no firing alert of
    it is left, ``service.still_firing``): its ``cleared_at`` is set. People still resolve it."""
    assert incident.id is not None
    if not joining and not cleared:
        return False
    rows: list[dict[str, Any]] = [service.alert_values(s, incident.id) for s in (*joining, *cleared)]
    with session.no_autoflush:
        session.connection().execute(_INSERT_ALERTS, rows)
        if joining:
            alarms.fired_all(session, signals=joining, incident_id=incident.id, now=now)
        if cleared:
            alarms.cleared_all(session, signals=cleared, now=now)
        audit.append(session, action=alert_audit.ACTION, actor=SYSTEM, incident_id=incident.id, at=now,
                     after={"joined": len(joining), "cleared": len(cleared), "alerts": alert_audit.listed(rows)})
        for signal in joining:
            _rare_steps(session, incident, signal, now, policy_for)
        audit.write_pending(session)
    session.add(incident)
    if not cleared or incident.cleared_at is not None or service.still_firing(session, incident_id=incident.id):
        return False
    incident.cleared_at = now
    return True


def _rare_steps(session: Session, incident: Incident, signal: AlertSignal, now: datetime,
                policy_for: Callable[[Severity], SeverityPolicy]) -> None:
    """What a joining alert changes on the incident beyond its rows: triggered again, its severity raised."""
    if signal.kind is SignalKind.FIRING and incident.cleared_at is not None \
            and Status(incident.status) is Status.ACKNOWLEDGED:
        service.retrigger(session, incident=incident, policy=policy_for(signal.severity), now=now,
                          rule_id=signal.rule_id)
    if signal.kind is SignalKind.FIRING:
        incident.cleared_at = None
    if Severity(signal.severity).rank < Severity(incident.severity).rank:
        incident.title_zh, incident.title_en = signal.title_zh, signal.title_en
        service.set_severity(session, incident=incident, severity=signal.severity, actor=SYSTEM,
                             reason=f"alert {signal.rule_id} raised it", now=now, policy=policy_for(signal.severity))
