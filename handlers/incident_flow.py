"""Use cases around one incident: open from a signal, acknowledge, resolve, escalate.

Each use case is one transaction: the state change, its audit events and its outbox rows.
Side effects (timers, waking the dispatcher) happen after commit.
"""

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from handlers import messages, paging
from handlers.authz import authorize_text
from handlers.context import CoreContext
from handlers.dedupe import DuplicateEvent, remember
from handlers.drill_mark import drill_title
from handlers.i18n_values import Quantity
from handlers.incident_timers import arm_incident
from handlers.playbook_flow import PlaybookFlow
from handlers.ports import OutboundMessage, Reply
from handlers.refusals import refusal_text
from handlers.reminder_flow import ReminderFlow
from handlers.text import role_name, roles_text, say
from incidents import audit, directory, service
from incidents.actors import Actor
from incidents.lifecycle import InvalidTransition, Status, Transition
from incidents.permissions import Permission, may, roles_with
from incidents.severity import Severity
from incidents.signals import AlertSignal, SignalKind
from incidents.tables import Incident
from incidents.units import unit_for
from playbooks import closure

log = logging.getLogger(__name__)

_TRANSITION_TEXT = {
    Transition.ACKNOWLEDGE: "acked_msg",
    Transition.MITIGATE: "mitigating_msg",
    Transition.RESOLVE: "resolved_msg",
    Transition.CLOSE: "closed_msg",
    Transition.UNACKNOWLEDGE: "unacked_msg",
}


class IncidentFlow:
    def __init__(self, ctx: CoreContext, playbooks: PlaybookFlow) -> None:
        self.ctx = ctx
        self.playbooks = playbooks
        self.reminders = ReminderFlow(ctx)

    def header(self, session: Session, incident: Incident) -> OutboundMessage:
        """The current root message of an incident."""
        return self.playbooks.header(session, incident)

    def on_signal(self, signal: AlertSignal, *, drill: bool = False) -> int | None:
        """Apply a rules-engine signal; returns the incident it touched. ``drill`` marks a new incident an exercise."""
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
                        value: object = "-" if signal.value is None else \
                            Quantity(signal.value, unit_for(signal.metric or ""))
                        self.ctx.notifier.post(session, incident.id,
                                               messages.notice(incident.id, say("cleared_msg", value=value), tone="ok"))
                        self.ctx.notifier.update_header(session, incident.id, self.header(session, incident))
                    else:
                        incident, _ = self._open_or_join(session, signal, now, drill=drill)
                    assert incident.id is not None
                    incident_id = incident.id
                break
            except IntegrityError:
                if attempt:
                    raise
                log.info("incident for %s opened concurrently; joining it", signal.fingerprint)
        self.settled(incident_id)
        return incident_id

    def open_in(self, session: Session, signal: AlertSignal, now: datetime) -> Incident:
        """``on_signal`` for a firing signal inside the caller's transaction (the first alert of a group whose
        other alerts join in the same transaction): opens or joins the incident with its threads, pages and
        playbook. The caller calls ``settled`` after its commit; an IntegrityError means another process
        opened the incident meanwhile (try again: it is joined)."""
        incident, _ = self._open_or_join(session, signal, now, drill=False)
        return incident

    def settled(self, incident_id: int) -> None:
        """After the commit of a transaction that opened or changed an incident: its timers armed (the escalation
        and reminders too, re-planned if the severity changed), the outbox and the action executor woken."""
        self.playbooks.arm(incident_id)
        self.ctx.wake_outbox()
        self.ctx.wake_actions()

    def _open_or_join(self, session: Session, signal: AlertSignal, now: datetime, *,
                      drill: bool) -> tuple[Incident, bool]:
        policy = self.ctx.escalation.for_severity(signal.severity)
        existing = service.find_open(session, dedup_key=service.incident_key(signal))
        needs_pin = signal.playbook is not None and (existing is None or existing.playbook_id is None)
        started = self.playbooks.start(signal.playbook) if needs_pin else None
        severity_before = existing.severity if existing else None
        status_before = existing.status if existing else None
        incident, created = service.open_or_join(session, signal=signal, policy=policy,
                                                 playbook=started.pin if started else None, now=now, drill=drill,
                                                 existing=existing)
        assert incident.id is not None
        if created:
            self.ctx.notifier.open_threads(session, incident.id, self.header(session, incident))
            opened = say("opened_msg", roles_zh=roles_text(policy.first, 0), roles_en=roles_text(policy.first, 1),
                         title_zh=signal.title_zh, title_en=signal.title_en)
            self.ctx.notifier.post(session, incident.id, messages.notice(incident.id, opened, tone="alert"))
            paging.page_roles(session, incident, policy.first, wave="open", now=now,
                              channels=self.ctx.contact_channels)
        elif status_before != incident.status and incident.status == Status.TRIGGERED.value:
            self.ctx.notifier.post(session, incident.id, messages.notice(incident.id, say("retriggered_msg"),
                                                                         tone="alert"))
        if not created and incident.severity != severity_before:
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
                policy = self.ctx.escalation.for_severity(Severity(incident.severity))
                incident = service.transition(session, incident_id=incident_id, change=change, actor=actor,
                                              now=now, reason=reason, policy=policy)
                key = _TRANSITION_TEXT.get(change, "reopen_msg")
                if change is Transition.ACKNOWLEDGE and reason:
                    key = "acked_comment_msg"
                text = say(key, who=actor.name, reason=reason or "")
                self.ctx.notifier.post(session, incident_id, messages.notice(incident_id, text))
                self.ctx.notifier.update_header(session, incident_id, self.header(session, incident))
        except (DuplicateEvent, IntegrityError):
            return Reply(say("duplicate"))
        except (InvalidTransition, service.IncidentNotFound, service.ReasonRequired, ValueError) as exc:
            return Reply(refusal_text(exc), ok=False)
        if change in (Transition.ACKNOWLEDGE, Transition.MITIGATE, Transition.RESOLVE):
            self.ctx.timers.disarm_escalation(incident_id=incident_id)
        if change in (Transition.REOPEN, Transition.UNACKNOWLEDGE):
            self.playbooks.arm(incident_id)  # the restarted escalation and reminders
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
                dedupe_key: str | None, drill: bool = False) -> Reply:
        """Open (or join) an incident by hand with a playbook, e.g. ``/incident fire D1``.

        A ``drill`` is its own incident (it never joins a real one, nor a real alarm it), marked DRILL in
        every title and message, its actuations simulated, and left out of the statistics.
        """
        loaded = self.playbooks.library[playbook_id]
        where = f" {zone}" if zone else ""
        title_zh, title_en = f"{loaded.playbook.title.zh}{where}", f"{loaded.playbook.title.en}{where}"
        if drill:
            title_zh, title_en = drill_title(title_zh), drill_title(title_en)
        signal = AlertSignal(
            kind=SignalKind.FIRING, rule_id=f"manual:{playbook_id}",
            fingerprint=f"{'drill:' if drill else ''}manual:{playbook_id}:{zone or '-'}",
            severity=Severity(loaded.playbook.severity), title_zh=title_zh,
            title_en=title_en, at=self.ctx.now(), zone=zone, playbook=playbook_id,
            source="manual", labels={"declared_by": actor.name, "note": note} if note else {"declared_by": actor.name},
        )
        with self.ctx.db.unit_of_work() as session:
            try:
                remember(session, dedupe_key, actor)
            except DuplicateEvent:
                return Reply(say("duplicate"))
        incident_id = self.on_signal(signal, drill=drill)
        assert incident_id is not None
        with self.ctx.db.unit_of_work() as session:
            audit.record(session, action="incident.declared", actor=actor, incident_id=incident_id,
                         after={"playbook": playbook_id, "zone": zone, "note": note or None, "drill": drill})
            self.ctx.notifier.post(session, incident_id,
                                   messages.notice(incident_id, say("declared_msg", who=actor.name), tone="alert"))
        self.ctx.wake_outbox()
        return Reply(f"#{incident_id} {title_zh} / {title_en}")

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
            paging.page_roles(session, incident, [step.role], wave=f"esc{step.level}", now=now,
                              channels=self.ctx.contact_channels)
        arm_incident(self.ctx.timers, incident)
        self.ctx.wake_outbox()
        return True

    def rearm_all(self) -> int:
        """Re-arm every pending escalation and step timer from the database (the source of truth) at boot."""
        with self.ctx.db.reader() as session:
            incidents = service.list_incidents(session, open_only=True, limit=10_000)
        return sum(self.playbooks.arm(incident.id) for incident in incidents if incident.id is not None)
