"""Playbook runs on incidents: pin the version, show the current steps, advance on Done.

The walker (``playbooks.walker``) decides; this module persists its state on the incident,
audits every step, mirrors the step cards to every platform in the same transaction, and arms
the step timers (persistent jobs) after commit.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from handlers import alarm_view, messages, quorum
from handlers.actions import ActionFlow
from handlers.context import CoreContext
from handlers.dedupe import DuplicateEvent, remember
from handlers.incident_timers import arm_incident
from handlers.ports import OutboundMessage, Reply
from handlers.refusals import refusal_text
from handlers.signing import Signing, SigningView, reauthenticate, signing_method
from handlers.text import label, local_time, role_name, say
from incidents import audit, directory, service, signatures
from incidents.actors import SYSTEM, Actor
from incidents.directory import RoleHolders
from incidents.evidence import records as evidence_records
from incidents.evidence.images import CheckedImage
from incidents.lifecycle import OPEN_STATUSES, Status
from incidents.service import PlaybookPin
from incidents.staffing import qualification_valid
from incidents.tables import Incident, Person
from playbooks import closure, walker
from playbooks.loader import LoadedPlaybook
from playbooks.run_state import (
    Decision,
    Event,
    RunState,
    StepClaimed,
    StepCompleted,
    StepRejected,
    StepSkipped,
    TimerFired,
)
from playbooks.schema import GroupPart, NotifyRole, PhotoInput, Playbook, Step
from playbooks.sources import provenance

log = logging.getLogger(__name__)
SHOWN = ("active", "overdue")


@dataclass(frozen=True, slots=True)
class Started:
    """A run started for an incident that does not exist yet: its pin and the walker's first decision."""

    pin: PlaybookPin
    decision: Decision


@dataclass(frozen=True, slots=True)
class StepChange:
    """What a person did to a step, and how to say it."""

    audit_status: str
    event: Callable[[str, Actor], Event]
    outcome: Callable[[Actor, Step | GroupPart], str]
    reason: str | None = None
    answer_of_input: bool = False
    signing: Signing | None = None
    evidence: CheckedImage | None = None


class PlaybookFlow:
    def __init__(self, ctx: CoreContext, library: Mapping[str, LoadedPlaybook]) -> None:
        self.ctx = ctx
        self.library = dict(library)
        self.actions = ActionFlow(ctx)

    def start(self, playbook_id: str | None) -> Started | None:
        """Start a run of the playbook as it is now; the incident keeps this version."""
        if playbook_id is None:
            return None
        loaded = self.library.get(playbook_id)
        if loaded is None:
            log.warning("rule names playbook %r, which is not in the library; the incident opens without one",
                        playbook_id)
            return None
        decision = walker.start(loaded.playbook, now=self.ctx.now())
        pin = PlaybookPin(loaded.playbook.id, loaded.playbook.version, loaded.sha256, decision.state.to_json())
        return Started(pin, decision)

    def for_alert(self, alert_name: str) -> str | None:
        """The playbook whose triggers name this alert, if any."""
        return next((pid for pid, loaded in self.library.items() if alert_name in loaded.playbook.triggers.alerts),
                    None)

    def for_command(self, alias: str) -> str | None:
        """The playbook started by hand with this alias (``/incident fire D1``) or by its id."""
        if alias in self.library:
            return alias
        return next((pid for pid, loaded in self.library.items() if alias in loaded.playbook.triggers.commands),
                    None)

    def _run(self, incident: Incident) -> tuple[LoadedPlaybook, RunState] | None:
        if incident.playbook_id is None or incident.playbook_state is None:
            return None
        loaded = self.library.get(incident.playbook_id)
        if loaded is None:
            return None
        return loaded, RunState.from_json(incident.playbook_state)

    def current_ids(self, incident: Incident) -> list[str]:
        """The steps responders see now, safety steps first."""
        run = self._run(incident)
        return [] if run is None else _current(*run)

    def is_current(self, incident_id: int, step_id: str) -> bool:
        """True when ``step_id`` is one of the incident's current steps."""
        with self.ctx.db.reader() as session:
            incident = session.get(Incident, incident_id)
            return incident is not None and step_id in self.current_ids(incident)

    def current_label(self, incident: Incident) -> str | None:
        """``2/9 核实 / Verify`` for the header, or None: without a playbook, with no step left, and once the
        incident is resolved or closed (its status says where it ended; unfinished steps are in the review)."""
        if Status(incident.status) not in OPEN_STATUSES:
            return None
        run = self._run(incident)
        ids = self.current_ids(incident)
        if run is None or not ids:
            return None
        loaded = run[0]
        order = [s.id for s in loaded.playbook.all_steps()]
        step = loaded.playbook.step(ids[0])
        return f"{order.index(step.id) + 1}/{len(order)} {step.title.zh} / {step.title.en}"

    def open_steps(self, incident: Incident) -> list[closure.OpenStep]:
        """The incident's unfinished steps (none when it has no playbook)."""
        run = self._run(incident)
        return closure.unfinished(run[0].playbook, run[1]) if run is not None else []

    def sign_url(self, incident_id: int, step_id: str) -> str:
        """The signing page of a step."""
        return f"{self.ctx.public_url.rstrip('/')}/sign/step/{incident_id}/{step_id}"

    def photo_step(self, incident_id: int, step_id: str | None, actor: Actor, *, strict: bool) -> str | None:
        """The current step a picture sent now is evidence for: ``step_id`` when it is current (when ``strict``,
        only it), else the first current step asking for a photo that ``actor`` may do (then any asking for
        one); None when none does."""
        with self.ctx.db.reader() as session:
            incident = session.get(Incident, incident_id)
            run = self._run(incident) if incident is not None else None
            if incident is None or run is None:
                return None
            current = self.current_ids(incident)
        if step_id in current or strict:
            return step_id if step_id in current else None
        asking = [s for s in current if isinstance(run[0].playbook.step(s).input, PhotoInput)]
        return next((s for s in asking if _may_do(actor, run[0].playbook.step(s))), asking[0] if asking else None)

    def photos_needed(self, incident_id: int, step_id: str) -> int:
        """How many pictures a step's photo input asks for (``min_count``; 1 for any other step)."""
        with self.ctx.db.reader() as session:
            incident = session.get(Incident, incident_id)
            run = self._run(incident) if incident is not None else None
        spec = run[0].playbook.step(step_id).input if run is not None else None
        return spec.min_count if isinstance(spec, PhotoInput) else 1

    def evidence_url(self, sha256: str) -> str:
        """Where a stored picture's thumbnail is served (``integrations.evidence_routes``)."""
        return f"{self.ctx.public_url.rstrip('/')}/api/v1/evidence/{sha256}?size=thumb"

    def signature_link(self, *, incident_id: int, step_id: str) -> Reply:
        """The answer to a Sign button pressed where links cannot open: the signing page's address."""
        with self.ctx.db.reader() as session:
            incident = session.get(Incident, incident_id)
            run = self._run(incident) if incident is not None else None
        step = _find_step(run[0], step_id) if run is not None else None
        if step is None or step.signature is None:
            return Reply(say("no_current_step", step=step_id), ok=False)
        meaning = step.signature.meaning
        return Reply(say("needs_signature", meaning_zh=meaning.zh, meaning_en=meaning.en,
                         url=self.sign_url(incident_id, step_id)))

    def signing_view(self, *, incident_id: int, step_id: str) -> SigningView | None:
        """What the signing page of a current step shows, or None when that step cannot be signed now."""
        with self.ctx.db.reader() as session:
            incident = session.get(Incident, incident_id)
            run = self._run(incident) if incident is not None else None
            if incident is None or run is None or step_id not in self.current_ids(incident):
                return None
        step = run[0].playbook.step(step_id)
        if step.signature is None:
            return None
        spec = step.input
        options = tuple((o.value, f"{o.label.zh} {o.label.en}") for o in getattr(spec, "options", []) or [])
        if spec is not None and spec.type == "yes_no":
            options = (("yes", "是 Yes"), ("no", "否 No"))
        return SigningView(
            record=f"#{incident_id} {incident.title_zh} / {incident.title_en} · {step.title.zh} / {step.title.en}",
            meaning=f"{step.signature.meaning.zh} / {step.signature.meaning.en}",
            input_label=f"{spec.label.zh} {spec.label.en}" if spec is not None else None, options=options)

    def header(self, session: Session, incident: Incident) -> OutboundMessage:
        """The incident's current root message."""
        people = directory.names(session, [p for p in (incident.acknowledged_by, incident.commander_id)
                                           if p is not None])
        assert incident.id is not None
        alarm_states = alarm_view.header_text(session, incident_id=incident.id, now=self.ctx.now(),
                                              acknowledged=Status(incident.status) is not Status.TRIGGERED)
        return messages.incident_header(incident, timezone=self.ctx.timezone,
                                        acked_by_name=people.get(incident.acknowledged_by or 0),
                                        current_step=self.current_label(incident), alarm_states=alarm_states,
                                        commander_name=people.get(incident.commander_id or 0))

    def _card(self, session: Session, incident_id: int, loaded: LoadedPlaybook, state: RunState, step_id: str, *,
              outcome: str | None = None, holders: RoleHolders | None = None) -> OutboundMessage:
        step = loaded.playbook.step(step_id)
        order = [s.id for s in loaded.playbook.all_steps()]
        step_state = state.steps[step.id]
        due = next((t.due_at for t in step_state.timers if t.kind == "complete"), None)
        view = messages.StepView(
            step_id=step.id, number=order.index(step.id) + 1, total=len(order), title_zh=step.title.zh,
            title_en=step.title.en, instructions_zh=step.instructions.zh if step.instructions else "",
            instructions_en=step.instructions.en if step.instructions else "",
            role=step.role or "anyone", due=local_time(due, self.ctx.timezone) if due else None, safety=step.safety,
            prompt=input_prompt(step), choices=tuple((o.value, f"{o.label.zh} {o.label.en}")
                                                     for o in getattr(step.input, "options", []) or []),
            overdue=step_state.status == "overdue", claimed_by=step_state.claimed_by,
            assignees=assignees(session, step, at=self.ctx.now(), needs=dict(loaded.playbook.qualifications.items()),
                                holders=holders),
            why=why_text(loaded.playbook, step.id),
            sign_url=self.sign_url(incident_id, step.id) if step.signature else None,
            tally=quorum.tally(session, step, step_state.done_by, at=self.ctx.now(), holders=holders)
            if step.quorum else None,
            photo=isinstance(step.input, PhotoInput),
        )
        return messages.step_message(incident_id, view, outcome=outcome)

    def announce(self, session: Session, incident: Incident, started: Started, *, now: datetime) -> None:
        """Post the first steps of a newly started run and record its first actions.

        Everything goes into the caller's transaction, as ``_post_step`` would write it card by card, but
        cheaper: the run's state is the one ``start`` made (not read back from the incident), each role is looked
        up once for all the cards, and the cards' outbox rows, the step rows and their audit events are kept and
        inserted with one INSERT per table (``service.start_steps``, ``outbox.append``). A run starts only on an
        incident without one, so it has no step rows yet."""
        loaded = self.library.get(started.pin.playbook_id)
        if loaded is None:
            return
        assert incident.id is not None
        state = started.decision.state
        step_ids = _current(loaded, state)
        holders = RoleHolders()
        with session.no_autoflush:
            for step_id in step_ids:
                card = self._card(session, incident.id, loaded, state, step_id, holders=holders)
                self.ctx.notifier.post(session, incident.id, card,
                                       suffix=f"step:{step_id}:{state.steps[step_id].iteration}")
            service.start_steps(session, incident_id=incident.id, step_ids=step_ids, now=now)
        self.actions.apply(session, incident, started.decision.actions, now=now, holders=holders)

    def _post_step(self, session: Session, incident_id: int, loaded: LoadedPlaybook, state: RunState,
                   step_id: str, *, now: datetime) -> None:
        iteration = state.steps[step_id].iteration
        self.ctx.notifier.post(session, incident_id, self._card(session, incident_id, loaded, state, step_id),
                               suffix=f"step:{step_id}:{iteration}")
        service.save_step(session, incident_id=incident_id, step_id=step_id, status="active", actor=SYSTEM, now=now)

    def arm(self, incident_id: int) -> int:
        """Arm every live timer of an open incident: its escalation and reminders (``handlers.incident_timers``)
        and its run's step timers (idempotent: job ids carry the token). Returns how many were armed."""
        with self.ctx.db.reader() as session:
            incident = session.get(Incident, incident_id)
            run = self._run(incident) if incident is not None else None
        if incident is None or Status(incident.status) not in OPEN_STATUSES:
            return 0
        armed = arm_incident(self.ctx.timers, incident)
        if run is None:
            return armed
        for step_id, step_state in run[1].steps.items():
            for timer in step_state.timers:
                self.ctx.timers.arm_step(incident_id=incident_id, step_id=step_id, kind=timer.kind,
                                         token=timer.token, run_at=timer.due_at)
                armed += 1
        return armed

    # people acting on steps

    def complete(self, *, incident_id: int, step_id: str | None, actor: Actor, dedupe_key: str | None,
                 answer: str | None = None, signing: Signing | None = None,
                 evidence: CheckedImage | None = None, earlier: tuple[str, ...] = ()) -> Reply:
        """Mark a step done for ``actor`` (the first step they may do when ``step_id`` is None).

        A step marked ``signature`` is done only with ``signing``: the person's credentials are checked
        again now and the signature is written in the same transaction as the step (21 CFR 11.200(a)).
        A step whose input is ``photo`` is done only with ``evidence``, a picture already in the evidence
        store: the ``sha256:<hex>`` of ``earlier`` pictures kept for it (``min_count``) and of this one are the
        answer, so the step's audit row carries the hashes.
        """
        kept, given = "", answer if evidence is None else [
            *(evidence_records.answer_ref(sha) for sha in earlier), evidence_records.answer_ref(evidence.sha256)]
        if evidence is not None:
            kept = "\n" + say("photo_saved", short=evidence.sha256[:12], url=self.evidence_url(evidence.sha256))
        change = StepChange(
            audit_status="done", answer_of_input=True, signing=signing, evidence=evidence,
            event=lambda target, who: StepCompleted(target, who.name, who.roles, given),
            outcome=lambda who, step: say("step_done_msg", who=who.name, step_zh=step.title.zh,
                                          step_en=step.title.en) + kept,
        )
        return self._act(incident_id, step_id, actor, dedupe_key, change)

    def claim(self, *, incident_id: int, step_id: str | None, actor: Actor, dedupe_key: str | None) -> Reply:
        """Take a step on: its acknowledgement timer stops."""
        change = StepChange(
            audit_status="claimed", event=lambda target, who: StepClaimed(target, who.name),
            outcome=lambda who, step: say("claimed_msg", who=who.name, step_zh=step.title.zh, step_en=step.title.en),
        )
        return self._act(incident_id, step_id, actor, dedupe_key, change)

    def skip(self, *, incident_id: int, step_id: str | None, actor: Actor, dedupe_key: str | None,
             reason: str) -> Reply:
        """Skip a step; the reason is required and recorded."""
        change = StepChange(
            audit_status="skipped", reason=reason, event=lambda target, who: StepSkipped(target, who.name, reason),
            outcome=lambda who, step: say("skipped_msg", who=who.name, step_zh=step.title.zh, step_en=step.title.en,
                                          reason=reason),
        )
        return self._act(incident_id, step_id, actor, dedupe_key, change)

    def _act(self, incident_id: int, step_id: str | None, actor: Actor, dedupe_key: str | None,
             change: StepChange) -> Reply:
        now = self.ctx.now()
        try:
            with self.ctx.db.unit_of_work() as session:
                remember(session, dedupe_key, actor)
                incident = service.get_incident(session, incident_id=incident_id, for_update=True)
                if Status(incident.status) not in OPEN_STATUSES:
                    return Reply(say("incident_over", id=incident_id), ok=False)
                run = self._run(incident)
                if run is None:
                    return Reply(say("incident_no_playbook", id=incident_id), ok=False)
                loaded, state = run
                before = self.current_ids(incident)
                target = step_id or next((s for s in before if _may_do(actor, loaded.playbook.step(s))),
                                         before[0] if before else None)
                if target is None or target not in before:
                    return Reply(say("no_current_step", step=step_id or "-"), ok=False)
                step = loaded.playbook.step(target)
                refused = self._precheck(session, incident_id, step, actor, change, now=now,
                                         needs=dict(loaded.playbook.qualifications.items()))
                if refused is not None:
                    return refused
                iteration = state.steps[target].iteration
                event = change.event(target, actor)
                if isinstance(event, StepCompleted) and step.quorum is not None:
                    event = replace(event, quorum_size=quorum.size(session, step, at=now))
                decision = walker.apply(loaded.playbook, state, event, now=now)
                text = change.outcome(actor, step)
                answer = decision.state.answers.get(step.input.id) if change.answer_of_input and step.input else None
                waiting = step.quorum is not None and decision.state.steps[target].status != "done" \
                    and change.audit_status == "done"  # a quorum step confirmed by one more holder
                service.save_step(session, incident_id=incident_id, step_id=target, actor=actor, now=now,
                                  status="confirmed" if waiting else change.audit_status, answer=answer,
                                  reason=change.reason)
                if change.evidence is not None:
                    evidence_records.mark_used(session, incident_id, target)
                    evidence_records.record(session, change.evidence, incident_id=incident_id, step_id=target,
                                            actor=actor, now=now, used=True)
                if step.signature is not None and change.signing is not None:
                    text = self._sign(session, incident, loaded, step, actor=actor, signing=change.signing,
                                      answer=answer, now=now)
                card = self._card(session, incident_id, loaded, decision.state, target,
                                  outcome=text.replace("\n", " / ") if change.audit_status != "claimed"
                                  and not waiting else None)
                self.ctx.notifier.edit(session, incident_id, card, suffix=f"step:{target}:{iteration}")
                self._apply(session, incident, loaded, decision, before=before, now=now, actor=actor)
                if change.audit_status == "claimed" or step.signature is not None:
                    self.ctx.notifier.post(session, incident_id, messages.notice(incident_id, text))
        except (DuplicateEvent, IntegrityError):
            return Reply(say("duplicate"))
        except service.IncidentNotFound as exc:
            return Reply(refusal_text(exc), ok=False)
        except StepRejected as exc:
            with self.ctx.db.unit_of_work() as session:
                audit.record(session, action="step.refused", actor=actor, incident_id=incident_id,
                             object_type="step", object_id=step_id, reason=str(exc), at=now)
            return Reply(str(exc), ok=False)
        self.arm(incident_id)
        self.ctx.wake_outbox()
        return Reply(text)

    def _precheck(self, session: Session, incident_id: int, step: Step | GroupPart, actor: Actor,
                  change: StepChange, *, now: datetime, needs: Mapping[str, str] | None = None) -> Reply | None:
        """Refusals that depend on the step: doing or claiming it without the qualification the playbook ``needs``
        for the role, skipping a step required for closure, completing a signed step without signing, signing
        with wrong credentials. Each is audited; nothing else changes."""
        problem = _unqualified(session, actor, step, needs or {}, now=now) \
            if change.audit_status in ("done", "claimed") else None
        if problem is None and change.audit_status == "skipped" and step.required_for_closure:
            problem = say("skip_required", step_zh=step.title.zh, step_en=step.title.en)
        elif problem is None and change.audit_status == "done" and isinstance(step.input, PhotoInput) \
                and change.evidence is None:
            problem = say("photo_needed", step_zh=step.title.zh, step_en=step.title.en)
        elif problem is None and change.evidence is not None and not isinstance(step.input, PhotoInput):
            problem = say("photo_not_asked", step_zh=step.title.zh, step_en=step.title.en)
        elif problem is None and change.audit_status == "done" and step.signature is not None:
            meaning = step.signature.meaning
            if change.signing is None:
                problem = say("needs_signature", meaning_zh=meaning.zh, meaning_en=meaning.en,
                              url=self.sign_url(incident_id, step.id))
            elif not change.signing.reason.strip():
                problem = say("signature_needs_reason")
            else:
                problem = reauthenticate(session, actor, change.signing, now=now)
        if problem is None:
            return None
        action = "signature.refused" if change.signing is not None else "step.refused"
        audit.record(session, action=action, actor=actor, incident_id=incident_id, object_type="step",
                     object_id=step.id, reason=problem.replace("\n", " / "), at=now)
        return Reply(problem, ok=False)

    def _sign(self, session: Session, incident: Incident, loaded: LoadedPlaybook, step: Step | GroupPart, *,
              actor: Actor, signing: Signing, answer: object, now: datetime) -> str:
        """Record the signature of a step just done; returns the line the thread shows."""
        assert incident.id is not None and step.signature is not None
        meaning = step.signature.meaning
        content = {"playbook": loaded.playbook.id, "playbook_version": loaded.playbook.version,
                   "playbook_sha256": loaded.sha256, "step_id": step.id, "step_title_zh": step.title.zh,
                   "step_title_en": step.title.en, "answer": answer, "incident_title_zh": incident.title_zh,
                   "incident_title_en": incident.title_en}
        signatures.record(session, incident_id=incident.id, object_type="step", object_id=step.id, actor=actor,
                          meaning=(meaning.zh, meaning.en), reason=signing.reason, record_content=content,
                          method=signing_method(session, actor), now=now)
        return say("signed_msg", who=actor.name, meaning_zh=meaning.zh, meaning_en=meaning.en,
                   reason=signing.reason.strip())

    def timer_due(self, *, incident_id: int, step_id: str, kind: str, token: str) -> bool:
        """A step timer fired: escalate, remind, mark overdue or repeat. A stale token changes nothing."""
        now = self.ctx.now()
        with self.ctx.db.unit_of_work() as session:
            incident = service.get_incident(session, incident_id=incident_id, for_update=True)
            run = self._run(incident)
            if run is None or Status(incident.status) not in OPEN_STATUSES:
                return False
            loaded, state = run
            step_state = state.steps.get(step_id)
            live = [t for t in step_state.timers if t.token == token] if step_state is not None else []
            if not live:
                return False
            before = self.current_ids(incident)
            iteration = state.steps[step_id].iteration
            decision = walker.apply(loaded.playbook, state, TimerFired(step_id, live[0].kind, token), now=now)
            audit.record(session, action=f"step.timer.{live[0].kind}", actor=SYSTEM, incident_id=incident_id,
                                 object_type="step", object_id=step_id,
                                 after={"status": decision.state.steps[step_id].status}, at=now)
            if decision.state.steps[step_id].status == "overdue":
                card = self._card(session, incident_id, loaded, decision.state, step_id)
                self.ctx.notifier.edit(session, incident_id, card, suffix=f"step:{step_id}:{iteration}")
            self._apply(session, incident, loaded, decision, before=before, now=now)
        self.arm(incident_id)
        self.ctx.wake_outbox()
        return True

    def _apply(self, session: Session, incident: Incident, loaded: LoadedPlaybook, decision: Decision, *,
               before: list[str], now: datetime, actor: Actor = SYSTEM) -> None:
        assert incident.id is not None
        incident.playbook_state = decision.state.to_json()
        session.add(incident)
        # a notify-role action already carries its text to the thread: do not post it twice
        notified = {r.action.message.zh for r in decision.actions if isinstance(r.action, NotifyRole)}
        for message in decision.messages:
            if message.zh not in notified:
                self.ctx.notifier.post(session, incident.id,
                                       messages.notice(incident.id, f"{message.zh}\n{message.en}"))
        self.actions.apply(session, incident, decision.actions, now=now, requested_by=actor)
        for step_id in self.current_ids(incident):
            if step_id not in before:
                self._post_step(session, incident.id, loaded, decision.state, step_id, now=now)
        self.ctx.notifier.update_header(session, incident.id, self.header(session, incident))


def _current(loaded: LoadedPlaybook, state: RunState) -> list[str]:
    """The steps of a run responders see now, safety steps first."""
    shown = [s.id for s in loaded.playbook.all_steps()
             if state.steps[s.id].status in SHOWN and not (isinstance(s, Step) and s.is_group)]
    safety = [s for s in shown if loaded.playbook.step(s).safety]
    return safety + [s for s in shown if s not in safety]


def input_prompt(step: Step | GroupPart) -> str | None:
    """How to answer a step's input in chat, in both languages."""
    spec = step.input
    if spec is None:
        return None
    if spec.type == "number":
        span = f"{spec.min:g}–{spec.max:g}" if spec.min is not None and spec.max is not None else ""
        hint = say("prompt_number", unit=spec.unit or "", range_zh=f"，{span}" if span else "",
                   range_en=f", {span}" if span else "")
    else:
        hint = say(f"prompt_{spec.type}")
    return f"{spec.label.zh} {spec.label.en} · " + hint.replace("\n", " / ")


def why_text(playbook: Playbook, step_id: str) -> str | None:
    """The step card's "why this step": its sources and site-rule mark, or None when it says neither.

    e.g. ``OSHA 29 CFR 1910.38 (c)(4) · 本场所规定 site rule``; links stay in the review, cards stay short.
    """
    origin = provenance(playbook, step_id)
    parts = [source.citation() for source in origin.sources]
    if origin.site_rule:
        parts.append(label("site_rule"))
    return " · ".join(parts) or None


def assignees(session: Session, step: Step | GroupPart, *, at: datetime,
              needs: Mapping[str, str] | None = None, holders: RoleHolders | None = None) -> str | None:
    """Who holds the step's role now (with the qualification the playbook ``needs`` for it), or its first fallback
    role that somebody holds. ``holders``, when given, keeps the look-ups for the next card of the same
    transaction."""
    if step.role in (None, "anyone"):
        return None
    for role in [step.role, *step.fallback_roles]:
        needed = (needs or {}).get(role)
        people = holders.with_role(session, role=role, at=at, qualification=needed) if holders is not None \
            else directory.with_role(session, role=role, at=at, qualification=needed)
        if people:
            names = "、".join(f"{p.name_zh} {p.name_en}" for p in people)
            return names if role == step.role else f"{names} ({role}, fallback)"
    return None


def _unqualified(session: Session, actor: Actor, step: Step | GroupPart, needs: Mapping[str, str], *,
                 now: datetime) -> str | None:
    """The refusal when the role ``actor`` does ``step`` as needs a qualification they do not hold valid today."""
    role = next((r for r in [step.role, *step.fallback_roles] if r in actor.roles), None)
    needed = needs.get(role or "")
    person = session.get(Person, actor.person_id) if actor.person_id is not None else None
    if needed is None or (person is not None and qualification_valid(person, needed, on=now.date())):
        return None
    return say("needs_qualification", qualification=needed, role=role_name(role or ""))


def _may_do(actor: Actor, step: Step | GroupPart) -> bool:
    return step.role in (None, "anyone") or actor.has_any_role([step.role] if step.role else [])


def _find_step(loaded: LoadedPlaybook, step_id: str) -> Step | GroupPart | None:
    try:
        return loaded.playbook.step(step_id)
    except KeyError:
        return None

