"""Use cases around one incident: open from a signal, acknowledge, resolve, escalate.

Each use case is one transaction: the state change, its audit events and its outbox rows.
Side effects (timers, waking the dispatcher) happen after commit.
"""

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from handlers import messages
from handlers.authz import authorize_text
from handlers.context import CoreContext
from handlers.dedupe import DuplicateEvent, remember
from handlers.playbook_flow import PlaybookFlow
from handlers.ports import OutboundMessage, Reply
from handlers.text import role_name, roles_text, say
from incidents import audit, directory, service
from incidents.actors import Actor
from incidents.lifecycle import InvalidTransition, Status, Transition
from incidents.permissions import Permission, may, roles_with
from incidents.severity import Severity
from incidents.signals import AlertSignal, SignalKind
from incidents.tables import Incident
from incidents.units import with_unit
from playbooks import closure

log = logging.getLogger(__name__)

_TRANSITION_TEXT = {
    Transition.ACKNOWLEDGE: "acked_msg",
    Transition.MITIGATE: "mitigating_msg",
    Transition.RESOLVE: "resolved_msg",
    Transition.CLOSE: "closed_msg",
}


class IncidentFlow:
    def __init__(self, ctx: CoreContext, playbooks: PlaybookFlow) -> None:
        self.ctx = ctx
        self.playbooks = playbooks

    def header(self, session: Session, incident: Incident) -> OutboundMessage:
        """The current root message of an incident."""
        return self.playbooks.header(session, incident)

    def on_signal(self, signal: AlertSignal) -> int | None:
        """Apply a rules-engine signal; returns the incident it touched."""
        now = self.ctx.now()
        for attempt in range(2):
            try:
                with self.ctx.db.unit_of_work() as session:
                    if signal.kind is SignalKind.RESOLVED:
                        incident = service.record_clear(session, signal=signal, now=now)
                        if incident is None:
                            self.ctx.wake_outbox()
                            return None
                        assert incident.id is not None
                        value = "-" if signal.value is None else with_unit(signal.value, signal.metric or "")
                        self.ctx.notifier.post(session, incident.id,
                                               messages.notice(incident.id, say("cleared_msg", value=value), tone="ok"))
                        self.ctx.notifier.update_header(session, incident.id, self.header(session, incident))
                        created = False
                    else:
                        incident, created = self._open_or_join(session, signal, now)
                    assert incident.id is not None
                    incident_id, token = incident.id, incident.escalation_token
                    pending = service.pending_escalation(incident)
                break
            except IntegrityError:
                if attempt:
                    raise
                log.info("incident for %s opened concurrently; joining it", signal.fingerprint)
        if created and pending is not None and token is not None:
            self.ctx.timers.arm_escalation(incident_id=incident_id, token=token, run_at=pending.due_at)
        self.playbooks.arm(incident_id)
        self.ctx.wake_outbox()
        self.ctx.wake_actions()
        return incident_id

    def _open_or_join(self, session: Session, signal: AlertSignal, now: datetime) -> tuple[Incident, bool]:
        policy = self.ctx.escalation.for_severity(signal.severity)
        existing = service.find_open(session, dedup_key=service.incident_key(signal))
        needs_pin = signal.playbook is not None and (existing is None or existing.playbook_id is None)
        started = self.playbooks.start(signal.playbook) if needs_pin else None
        severity_before = existing.severity if existing else None
        incident, created = service.open_or_join(session, signal=signal, policy=policy,
                                                 playbook=started.pin if started else None, now=now)
        assert incident.id is not None
        if created:
            self.ctx.notifier.open_threads(session, incident.id, self.header(session, incident))
            opened = say("opened_msg", roles_zh=roles_text(policy.first, 0), roles_en=roles_text(policy.first, 1),
                         title_zh=signal.title_zh, title_en=signal.title_en)
            self.ctx.notifier.post(session, incident.id, messages.notice(incident.id, opened, tone="alert"))
        elif incident.severity != severity_before:
            self.ctx.notifier.post(session, incident.id, messages.notice(
                incident.id, say("raised_msg", severity=incident.severity, title_zh=signal.title_zh,
                                 title_en=signal.title_en), tone="alert"))
        if started is not None:
            self.playbooks.announce(session, incident, started, now=now)
        if not created:
            self.ctx.notifier.update_header(session, incident.id, self.header(session, incident))
        return incident, created

    def change(
        self, *, incident_id: int, change: Transition, actor: Actor, reason: str | None = None,
        dedupe_key: str | None = None, override: bool = False,
    ) -> Reply:
        """Acknowledge, mitigate, resolve, close or reopen on behalf of a mapped person.

        Resolving with unfinished playbook steps needs ``override`` with a reason from a person who may
        override; steps required for closure block resolving and closing whoever asks.
        """
        now = self.ctx.now()
        try:
            with self.ctx.db.unit_of_work() as session:
                remember(session, dedupe_key, actor)
                incident = service.get_incident(session, incident_id=incident_id, for_update=True)
                if change in (Transition.RESOLVE, Transition.CLOSE):
                    blocked = self._closing_guard(session, incident, change, actor=actor, reason=reason,
                                                  override=override, now=now)
                    if blocked is not None:
                        return blocked
                incident = service.transition(session, incident_id=incident_id, change=change, actor=actor,
                                              now=now, reason=reason)
                key = _TRANSITION_TEXT.get(change, "reopen_msg")
                if change is Transition.ACKNOWLEDGE and reason:
                    key = "acked_comment_msg"
                text = say(key, who=actor.name, reason=reason or "")
                self.ctx.notifier.post(session, incident_id, messages.notice(incident_id, text))
                self.ctx.notifier.update_header(session, incident_id, self.header(session, incident))
                rearm = service.pending_escalation(incident) if change is Transition.REOPEN else None
                token = incident.escalation_token
        except (DuplicateEvent, IntegrityError):
            return Reply(say("duplicate"))
        except (InvalidTransition, service.IncidentNotFound, service.ReasonRequired, ValueError) as exc:
            return Reply(str(exc), ok=False)
        if change in (Transition.ACKNOWLEDGE, Transition.MITIGATE, Transition.RESOLVE):
            self.ctx.timers.disarm_escalation(incident_id=incident_id)
        if rearm is not None and token is not None:
            self.ctx.timers.arm_escalation(incident_id=incident_id, token=token, run_at=rearm.due_at)
        self.ctx.wake_outbox()
        return Reply(text)

    def _closing_guard(self, session: Session, incident: Incident, change: Transition, *, actor: Actor,
                       reason: str | None, override: bool, now: datetime) -> Reply | None:
        """None when the incident may be resolved or closed now (an override is recorded here); else the
        refusal, audited. Closing only re-checks the steps nobody may override: resolving ruled on the rest."""
        assert incident.id is not None
        open_steps = self.playbooks.open_steps(incident)
        required = [s for s in open_steps if s.required_for_closure]
        command = change.value
        listed = say("steps_open", count=len(open_steps),
                     steps=closure.describe(open_steps, 0) + " / " + closure.describe(open_steps, 1))
        refusal: str | None = None
        if required:
            what = ("解决", "resolved") if change is Transition.RESOLVE else ("关闭", "closed")
            refusal = listed + "\n" + say("close_blocked_required", what_zh=what[0], what_en=what[1],
                                          steps=closure.describe(required, 0) + " / " + closure.describe(required, 1))
        elif change is Transition.CLOSE or not open_steps:
            return None
        elif not override:
            refusal = listed + "\n" + say("close_blocked", allowed=", ".join(roles_with(Permission.OVERRIDE)),
                                          command=command)
        elif not may(actor, Permission.OVERRIDE):
            refusal = authorize_text(actor, Permission.OVERRIDE)
        elif not reason:
            refusal = say("override_needs_reason", command=command)
        if refusal is not None:
            audit.record(session, action="incident.refused", actor=actor, incident_id=incident.id, at=now,
                         after={"asked": change.value, "override": override,
                                "open_steps": [s.step_id for s in open_steps]},
                         reason=refusal.replace("\n", " / "))
            return Reply(refusal, ok=False)
        audit.record(session, action="incident.override", actor=actor, incident_id=incident.id, at=now,
                     object_type="incident", after={"transition": change.value,
                                                    "open_steps": [s.step_id for s in open_steps]},
                     reason=reason)
        self.ctx.notifier.post(session, incident.id, messages.notice(incident.id, say(
            "override_msg", who=actor.name, count=len(open_steps), reason=reason,
            steps=closure.describe(open_steps, 0) + " / " + closure.describe(open_steps, 1)), tone="warn"))
        return None

    def declare(self, *, playbook_id: str, zone: str | None, note: str, actor: Actor,
                dedupe_key: str | None) -> Reply:
        """Open (or join) an incident by hand with a playbook, e.g. ``/incident fire D1``."""
        loaded = self.playbooks.library[playbook_id]
        where = f" {zone}" if zone else ""
        signal = AlertSignal(
            kind=SignalKind.FIRING, rule_id=f"manual:{playbook_id}", fingerprint=f"manual:{playbook_id}:{zone or '-'}",
            severity=Severity(loaded.playbook.severity), title_zh=f"{loaded.playbook.title.zh}{where}",
            title_en=f"{loaded.playbook.title.en}{where}", at=self.ctx.now(), zone=zone, playbook=playbook_id,
            source="manual", labels={"declared_by": actor.name, "note": note} if note else {"declared_by": actor.name},
        )
        with self.ctx.db.unit_of_work() as session:
            try:
                remember(session, dedupe_key, actor)
            except DuplicateEvent:
                return Reply(say("duplicate"))
        incident_id = self.on_signal(signal)
        assert incident_id is not None
        with self.ctx.db.unit_of_work() as session:
            audit.record(session, action="incident.declared", actor=actor, incident_id=incident_id,
                         after={"playbook": playbook_id, "zone": zone, "note": note or None})
            self.ctx.notifier.post(session, incident_id,
                                   messages.notice(incident_id, say("declared_msg", who=actor.name), tone="alert"))
        self.ctx.wake_outbox()
        return Reply(f"#{incident_id} {loaded.playbook.title.zh}{where} / {loaded.playbook.title.en}{where}")

    def acknowledge_external(self, *, dedup_key: str, source: str) -> int | None:
        """An acknowledgement sent by the system that raised the alert (PagerDuty Events ``acknowledge``)."""
        with self.ctx.db.reader() as session:
            incident = session.exec(select(Incident).where(Incident.dedup_key == dedup_key)
                                    .order_by(col(Incident.id).desc())).first()
        if incident is None or incident.id is None or incident.status != Status.TRIGGERED.value:
            return None
        actor = Actor(person_id=None, name=f"{source} (external)", platform=source)
        self.change(incident_id=incident.id, change=Transition.ACKNOWLEDGE, actor=actor)
        return incident.id

    def escalation_due(self, *, incident_id: int, token: str) -> bool:
        """Called by the persistent timer; a stale token has no effect. True if it escalated."""
        now = self.ctx.now()
        with self.ctx.db.unit_of_work() as session:
            step = service.escalate(session, incident_id=incident_id, token=token, now=now)
            if step is None:
                return False
            incident = service.get_incident(session, incident_id=incident_id)
            people = directory.with_role(session, role=step.role, at=now, qualification=step.qualification)
            who = "、".join(f"{p.name_zh} {p.name_en}" for p in people) or say("nobody").replace("\n", " ")
            minutes = round((step.due_at - incident.opened_at).total_seconds() / 60)
            self.ctx.notifier.post(session, incident_id, messages.notice(
                incident_id, say("escalated_msg", minutes=minutes, role=role_name(step.role), people=who),
                tone="alert"))
            following = service.pending_escalation(incident)
            new_token = incident.escalation_token
        if following is not None and new_token is not None:
            self.ctx.timers.arm_escalation(incident_id=incident_id, token=new_token, run_at=following.due_at)
        self.ctx.wake_outbox()
        return True

    def rearm_all(self) -> int:
        """Re-arm every pending escalation and step timer from the database (the source of truth) at boot."""
        with self.ctx.db.reader() as session:
            incidents = service.list_incidents(session, open_only=True, limit=10_000)
        armed = 0
        for incident in incidents:
            pending = service.pending_escalation(incident)
            if pending is not None and incident.id is not None and incident.escalation_token:
                self.ctx.timers.arm_escalation(incident_id=incident.id, token=incident.escalation_token,
                                               run_at=pending.due_at)
                armed += 1
            if incident.id is not None:
                armed += self.playbooks.arm(incident.id)
        return armed
