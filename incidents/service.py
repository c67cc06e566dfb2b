"""State-changing use cases of the domain. Each writes its audit event in the caller's transaction."""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from incidents import alarms, appends, audit
from incidents.actors import SYSTEM, Actor
from incidents.escalation import EscalationStep, SeverityPolicy, next_step, policy_snapshot
from incidents.escalation_plan import next_reminder, replan, restart
from incidents.lifecycle import OPEN_STATUSES, Status, Transition, next_status
from incidents.severity import Severity
from incidents.signals import AlertSignal, SignalKind
from incidents.tables import Alert, Incident, StepRun


class IncidentNotFound(LookupError):
    def __init__(self, incident_id: int) -> None:
        super().__init__(f"没有编号为 #{incident_id} 的事件 / There is no incident #{incident_id}")
        self.incident_id = incident_id


class ReasonRequired(ValueError):
    def __init__(self, what_zh: str, what_en: str) -> None:
        super().__init__(f"{what_zh}需要填写原因 / A reason is required to {what_en}")
        self.what_zh, self.what_en = what_zh, what_en


@dataclass(frozen=True, slots=True)
class PlaybookPin:
    """The playbook version copied onto an incident when it starts."""

    playbook_id: str
    version: int
    sha256: str
    state: dict[str, Any]


def new_token() -> str:
    """A random token that identifies the currently armed timer of an incident."""
    return secrets.token_hex(8)


def get_incident(session: Session, *, incident_id: int, for_update: bool = False) -> Incident:
    """The incident or IncidentNotFound."""
    query = select(Incident).where(Incident.id == incident_id)
    if for_update:
        query = query.with_for_update()
    incident = session.exec(query).first()
    if incident is None:
        raise IncidentNotFound(incident_id)
    return incident


# Built once: SQLAlchemy then reuses the statement's cache key and compiled form (each execution of a statement
# built anew pays its construction and cache key again: a tenth of an alarm's open on the profile of 2026-11-30).
_FIND_OPEN = select(Incident).where(Incident.open_dedup_key == bindparam("dedup_key"))


def find_open(session: Session, *, dedup_key: str) -> Incident | None:
    """The open incident for a dedup key, if any."""
    return session.exec(_FIND_OPEN, params={"dedup_key": dedup_key}).first()


def incident_key(signal: AlertSignal) -> str:
    """Which incident a signal belongs to: one per site, zone and metric.

    A "rising towards the limit" warning and the threshold alarm that follows it, and the two
    probes of one cold room, are one incident; a signal without a zone keeps its own fingerprint.
    A signal the grouping rules placed in a group joins the group's incident.
    """
    if signal.group:
        return signal.group
    if signal.zone and signal.metric:
        return f"{signal.site or '-'}/{signal.zone}/{signal.metric}"
    return signal.fingerprint


def _alert_from(signal: AlertSignal, incident_id: int) -> Alert:
    return Alert(**alert_values(signal, incident_id))


def alert_values(signal: AlertSignal, incident_id: int) -> dict[str, Any]:
    """The columns of the Alert row of ``signal`` on ``incident_id`` (for a batched INSERT of a group's alerts)."""
    return {
        "incident_id": incident_id, "fingerprint": signal.fingerprint, "rule_id": signal.rule_id,
        "kind": signal.kind.value, "severity": signal.severity.value, "title_zh": signal.title_zh,
        "title_en": signal.title_en, "site": signal.site, "zone": signal.zone, "sensor": signal.sensor,
        "metric": signal.metric, "value": signal.value, "threshold": signal.threshold, "source": signal.source,
        "labels": dict(signal.labels), "at": signal.at,
    }


_UNKNOWN: Any = object()


def open_or_join(
    session: Session, *, signal: AlertSignal, policy: SeverityPolicy, playbook: PlaybookPin | None, now: datetime,
    drill: bool = False, existing: Incident | None = _UNKNOWN,
) -> tuple[Incident, bool]:
    """Open an incident for the signal, or attach it to the open one with the same fingerprint.

    ``policy`` is the escalation policy of the signal's severity. An acknowledged incident whose alarm had
    cleared and now fires again is triggered again, its escalation restarted (``retrigger``).
    ``existing``: what ``find_open`` for the signal's ``incident_key`` returned in this transaction, when the
    caller already asked (it is not asked again). Returns the incident and whether it was created.

    A new incident is inserted at once (its id names everything else); its alert, alarm condition and
    ``incident.opened`` audit event are kept for the transaction's one write of kept rows
    (``incidents.appends``), as are the outbox rows and step cards callers add after it.
    """
    key = incident_key(signal)
    if existing is _UNKNOWN:
        existing = find_open(session, dedup_key=key)
    if existing is not None:
        assert existing.id is not None
        session.add(_alert_from(signal, existing.id))
        alarms.fired(session, signal=signal, incident_id=existing.id, now=now)
        audit.record(session, action="alert.joined", actor=SYSTEM, incident_id=existing.id, at=now,
                     after={"rule": signal.rule_id, "kind": signal.kind.value, "value": signal.value,
                            "sensor": signal.sensor})
        if signal.kind is SignalKind.FIRING:
            if existing.cleared_at is not None and Status(existing.status) is Status.ACKNOWLEDGED:
                retrigger(session, incident=existing, policy=policy, now=now, rule_id=signal.rule_id)
            existing.cleared_at = None
        if Severity(signal.severity).rank < Severity(existing.severity).rank:
            existing.title_zh, existing.title_en = signal.title_zh, signal.title_en
            set_severity(session, incident=existing, severity=signal.severity, actor=SYSTEM,
                         reason=f"alert {signal.rule_id} raised it", now=now, policy=policy)
        if playbook is not None and existing.playbook_id is None:
            pin_playbook(session, incident=existing, playbook=playbook, now=now)
        session.add(existing)
        return existing, False
    incident = Incident(
        title_zh=signal.title_zh, title_en=signal.title_en, severity=signal.severity.value,
        status=Status.TRIGGERED.value, dedup_key=key, open_dedup_key=key,
        site=signal.site, zone=signal.zone, source=signal.source, opened_at=now,
        escalation_policy=policy_snapshot(policy), escalation_token=new_token(),
        playbook_id=playbook.playbook_id if playbook else None,
        playbook_version=playbook.version if playbook else None,
        playbook_sha256=playbook.sha256 if playbook else None,
        playbook_state=playbook.state if playbook else None, drill=drill,
        ack_reminder_at=next_reminder(policy.remind_every_seconds, now=now),
        status_reminder_at=next_reminder(policy.status_update_seconds, now=now),
    )
    session.add(incident)
    session.flush()
    assert incident.id is not None
    session.add(_alert_from(signal, incident.id))
    alarms.fired(session, signal=signal, incident_id=incident.id, now=now)
    audit.append(
        session, action="incident.opened", actor=SYSTEM, incident_id=incident.id, at=now,
        after={"severity": incident.severity, "title_en": incident.title_en, "dedup_key": incident.dedup_key,
               "rule": signal.rule_id, "value": signal.value, "sensor": signal.sensor,
               "playbook": playbook.playbook_id if playbook else None,
               "playbook_version": playbook.version if playbook else None,
               "playbook_sha256": playbook.sha256 if playbook else None, "drill": drill},
    )
    return incident, True


def record_clear(session: Session, *, signal: AlertSignal, now: datetime) -> Incident | None:
    """Note on the open incident that an alert cleared; people still resolve the incident themselves.

    Returns the incident when its alarm condition is now clear everywhere (every firing alert of
    the incident has cleared), else None.
    """
    alarms.cleared(session, signal=signal, now=now)
    incident = find_open(session, dedup_key=incident_key(signal))
    if incident is None:
        return None
    assert incident.id is not None
    session.add(_alert_from(signal, incident.id))
    session.flush()
    audit.record(session, action="alert.cleared", actor=SYSTEM, incident_id=incident.id, at=now,
                 after={"rule": signal.rule_id, "value": signal.value, "sensor": signal.sensor})
    if incident.cleared_at is not None or still_firing(session, incident_id=incident.id):
        return None
    incident.cleared_at = now
    session.add(incident)
    return incident


# Built once, reused with their cache keys: a group's notification asks them each time.
_KINDS = select(Alert.fingerprint, Alert.kind).where(Alert.incident_id == bindparam("incident_id")) \
    .order_by(col(Alert.id))


def latest_alert_kinds(session: Session, *, incident_id: int) -> dict[str, str]:
    """Each alert fingerprint of an incident with the kind of its latest signal (firing, warning, resolved)."""
    return {fingerprint: kind for fingerprint, kind in session.exec(_KINDS, params={"incident_id": incident_id})}


def still_firing(session: Session, *, incident_id: int) -> bool:
    """True while any alarm of the incident has fired without a later clear."""
    latest = {fingerprint: kind for fingerprint, kind in session.exec(_KINDS, params={"incident_id": incident_id})
              if kind != SignalKind.WARNING.value}
    return any(kind == SignalKind.FIRING.value for kind in latest.values())


def pin_playbook(session: Session, *, incident: Incident, playbook: PlaybookPin, now: datetime) -> None:
    """Start a playbook on an incident that has none yet (e.g. a warning that became an alarm)."""
    incident.playbook_id, incident.playbook_version = playbook.playbook_id, playbook.version
    incident.playbook_sha256, incident.playbook_state = playbook.sha256, playbook.state
    session.add(incident)
    audit.record(session, action="playbook.started", actor=SYSTEM, incident_id=incident.id, at=now,
                 after={"playbook": playbook.playbook_id, "version": playbook.version, "sha256": playbook.sha256})


def transition(
    session: Session, *, incident_id: int, change: Transition, actor: Actor, now: datetime, reason: str | None = None,
    policy: SeverityPolicy | None = None,
) -> Incident:
    """Move the incident through its lifecycle and audit who did it and why.

    ``policy`` (the escalation policy of the incident's severity) restarts the escalation chain, counted
    from now, when the incident is triggered again (reopen, un-acknowledge); without it the old plan stays.
    """
    if change is Transition.REOPEN and not (reason and reason.strip()):
        raise ReasonRequired("重开事件", "reopen")
    incident = get_incident(session, incident_id=incident_id, for_update=True)
    before = Status(incident.status)
    after = next_status(before, change)
    if change is Transition.REOPEN:
        clash = find_open(session, dedup_key=incident.dedup_key)
        if clash is not None:
            raise ValueError(
                f"事件 #{clash.id} 已在处理同一告警 / Incident #{clash.id} is already open for the same alert"
            )
        incident.open_dedup_key = incident.dedup_key
    if after is Status.TRIGGERED:  # reopened or un-acknowledged: the chain starts again
        _restart_escalation(incident, policy, now=now)
    if change is Transition.UNACKNOWLEDGE:  # withdrawn: the next acknowledgement is the one that counts
        incident.acknowledged_at = incident.acknowledged_by = None
    incident.status = after.value
    if after is Status.ACKNOWLEDGED:
        incident.acknowledged_at, incident.acknowledged_by = now, actor.person_id
        incident.escalation_token = incident.ack_reminder_at = None
        alarms.acknowledge(session, incident_id=incident_id, actor=actor, now=now, audited=False)
    elif after is Status.MITIGATING:
        incident.mitigating_at = now
        incident.escalation_token = incident.ack_reminder_at = None
    elif after is Status.RESOLVED:
        incident.resolved_at, incident.open_dedup_key, incident.escalation_token = now, None, None
        incident.ack_reminder_at = incident.status_reminder_at = None
    elif after is Status.CLOSED:
        incident.closed_at = now
    session.add(incident)
    audit.record(session, action=f"incident.{change.value}", actor=actor, incident_id=incident_id, at=now,
                 before={"status": before.value}, after={"status": after.value}, reason=reason)
    return incident


def _restart_escalation(incident: Incident, policy: SeverityPolicy | None, *, now: datetime) -> None:
    incident.escalation_level = 0
    incident.escalation_token = new_token()
    if policy is not None:
        incident.escalation_policy = restart(policy, opened_at=incident.opened_at, now=now)
        incident.ack_reminder_at = next_reminder(policy.remind_every_seconds, now=now)
        if incident.status_reminder_at is None:
            incident.status_reminder_at = next_reminder(policy.status_update_seconds, now=now)


def retrigger(session: Session, *, incident: Incident, policy: SeverityPolicy, now: datetime, rule_id: str) -> None:
    """An acknowledged incident whose alarm fires again after clearing: triggered again, escalation restarted."""
    before = incident.status
    _restart_escalation(incident, policy, now=now)
    incident.status = Status.TRIGGERED.value
    session.add(incident)
    audit.record(session, action="incident.retriggered", actor=SYSTEM, incident_id=incident.id, at=now,
                 before={"status": before}, after={"status": incident.status, "rule": rule_id})


def _sooner(current: datetime | None, candidate: datetime | None) -> datetime | None:
    return min((t for t in (current, candidate) if t is not None), default=None)


def set_severity(
    session: Session, *, incident: Incident, severity: Severity, actor: Actor, reason: str, now: datetime,
    policy: SeverityPolicy,
) -> None:
    """Change the severity and re-plan what is left of the escalation from ``policy`` (the new severity's).

    A raise never makes a page or a reminder later than the old plan had it; a lowering takes the milder
    policy as it is (``incidents.escalation_plan``). The reason is part of the record.
    """
    before = incident.severity
    if severity.value == before:
        audit.record(session, action="incident.severity_changed", actor=actor, incident_id=incident.id, at=now,
                     before={"severity": before}, after={"severity": before}, reason=reason)
        return
    raised = severity.rank < Severity(before).rank
    incident.severity = severity.value
    incident.escalation_policy = replan(incident.escalation_policy, policy, raised=raised)
    status = Status(incident.status)
    if status is Status.TRIGGERED:
        incident.escalation_token = new_token()
        ack = next_reminder(policy.remind_every_seconds, now=now)
        incident.ack_reminder_at = _sooner(incident.ack_reminder_at, ack) if raised else ack
    if status in OPEN_STATUSES:
        update = next_reminder(policy.status_update_seconds, now=now)
        incident.status_reminder_at = _sooner(incident.status_reminder_at, update) if raised else update
    session.add(incident)
    audit.record(session, action="incident.severity_changed", actor=actor, incident_id=incident.id, at=now,
                 before={"severity": before}, after={"severity": severity.value,
                                                     "escalation": incident.escalation_policy}, reason=reason)


def escalate(session: Session, *, incident_id: int, token: str, now: datetime) -> EscalationStep | None:
    """Run a due escalation; a stale token (already acknowledged, already escalated) changes nothing."""
    incident = get_incident(session, incident_id=incident_id, for_update=True)
    if incident.escalation_token != token or Status(incident.status) is not Status.TRIGGERED:
        return None
    step = next_step(incident.escalation_policy, opened_at=incident.opened_at, level=incident.escalation_level)
    if step is None:
        return None
    incident.escalation_level = step.level
    incident.escalation_token = new_token()
    session.add(incident)
    audit.record(session, action="incident.escalated", actor=SYSTEM, incident_id=incident_id, at=now,
                 after={"level": step.level, "role": step.role})
    return step


def pending_escalation(incident: Incident) -> EscalationStep | None:
    """The next escalation an unacknowledged incident is waiting for."""
    if Status(incident.status) is not Status.TRIGGERED or incident.escalation_token is None:
        return None
    return next_step(incident.escalation_policy, opened_at=incident.opened_at, level=incident.escalation_level)


def list_incidents(session: Session, *, open_only: bool = False, limit: int = 100) -> list[Incident]:
    """Newest first."""
    query = select(Incident).order_by(col(Incident.id).desc()).limit(limit)
    if open_only:
        query = query.where(col(Incident.status).in_([s.value for s in OPEN_STATUSES]))
    return list(session.exec(query))


def save_step(
    session: Session, *, incident_id: int, step_id: str, status: str, actor: Actor, now: datetime,
    reason: str | None = None, answer: Any = None,
) -> StepRun:
    """Record a step's new status and audit it."""
    run = session.exec(
        select(StepRun).where(StepRun.incident_id == incident_id, StepRun.step_id == step_id)
    ).first()
    return _set_step(session, run, incident_id=incident_id, step_id=step_id, status=status, actor=actor, now=now,
                     reason=reason, answer=answer)


def start_steps(session: Session, *, incident_id: int, step_ids: Sequence[str], now: datetime) -> None:
    """Make the first steps of a run that has no step rows yet (the playbook of an incident opened, or first
    pinned, in this transaction) active: one step row and one ``step.active`` audit event each, in the order
    of ``step_ids``, kept and inserted with one INSERT per table (``incidents.appends``). The rows and audit
    events are those ``save_step`` writes for each in turn; nothing is read."""
    for step_id in step_ids:
        appends.add(session, StepRun, {"incident_id": incident_id, "step_id": step_id, "status": "active",
                                       "started_at": now, "finished_at": None, "actor_person_id": None,
                                       "reason": None})
        audit.append(session, action="step.active", actor=SYSTEM, incident_id=incident_id, object_type="step",
                     object_id=step_id, after={"status": "active"}, at=now)


def _set_step(
    session: Session, run: StepRun | None, *, incident_id: int, step_id: str, status: str, actor: Actor,
    now: datetime, reason: str | None = None, answer: Any = None,
) -> StepRun:
    before = run.status if run else None
    if run is None:
        run = StepRun(incident_id=incident_id, step_id=step_id, status=status, started_at=now)
    run.status = status
    if status in {"done", "skipped"}:
        run.finished_at, run.actor_person_id, run.reason = now, actor.person_id, reason
    session.add(run)
    audit.record(session, action=f"step.{status}", actor=actor, incident_id=incident_id, object_type="step",
                 object_id=step_id, before={"status": before} if before else None,
                 after={"status": status, "answer": answer} if answer is not None else {"status": status},
                 reason=reason, at=now)
    return run
