"""Playbook runs on incidents: pin the version, show the current steps, advance on Done.

The walker (``playbooks.walker``) decides; this module persists its state on the incident,
audits every step and mirrors the step cards to every platform in the same transaction.
"""

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from handlers import messages
from handlers.context import CoreContext
from handlers.dedupe import DuplicateEvent, remember
from handlers.ports import OutboundMessage, Reply
from handlers.text import local_time, say
from incidents import directory, service
from incidents.actors import SYSTEM, Actor
from incidents.lifecycle import OPEN_STATUSES, Status
from incidents.service import PlaybookPin
from incidents.tables import Incident
from playbooks import walker
from playbooks.loader import LoadedPlaybook
from playbooks.run_state import Decision, RunState, StepCompleted, StepRejected
from playbooks.schema import GroupPart, Step

log = logging.getLogger(__name__)
SHOWN = ("active", "overdue")


class PlaybookFlow:
    def __init__(self, ctx: CoreContext, library: Mapping[str, LoadedPlaybook]) -> None:
        self.ctx = ctx
        self.library = dict(library)

    def pin(self, playbook_id: str | None) -> PlaybookPin | None:
        """Start a run of the playbook as it is now; the incident keeps this version."""
        if playbook_id is None:
            return None
        loaded = self.library.get(playbook_id)
        if loaded is None:
            log.warning("rule names playbook %r, which is not in the library; the incident opens without one",
                        playbook_id)
            return None
        decision = walker.start(loaded.playbook, now=self.ctx.now())
        return PlaybookPin(loaded.playbook.id, loaded.playbook.version, loaded.sha256, decision.state.to_json())

    def for_alert(self, alert_name: str) -> str | None:
        """The playbook whose triggers name this alert, if any."""
        return next((pid for pid, loaded in self.library.items() if alert_name in loaded.playbook.triggers.alerts),
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
        if run is None:
            return []
        loaded, state = run
        shown = [s.id for s in loaded.playbook.all_steps() if state.steps[s.id].status in SHOWN]
        safety = [s for s in shown if loaded.playbook.step(s).safety]
        return safety + [s for s in shown if s not in safety]

    def is_current(self, incident_id: int, step_id: str) -> bool:
        """True when ``step_id`` is one of the incident's current steps."""
        with self.ctx.db.reader() as session:
            incident = session.get(Incident, incident_id)
            return incident is not None and step_id in self.current_ids(incident)

    def current_label(self, incident: Incident) -> str | None:
        """``2/9 核实 / Verify`` for the header, or None."""
        run = self._run(incident)
        ids = self.current_ids(incident)
        if run is None or not ids:
            return None
        loaded = run[0]
        order = [s.id for s in loaded.playbook.all_steps()]
        step = loaded.playbook.step(ids[0])
        return f"{order.index(step.id) + 1}/{len(order)} {step.title.zh} / {step.title.en}"

    def header(self, session: Session, incident: Incident) -> OutboundMessage:
        """The incident's current root message."""
        acked = None
        if incident.acknowledged_by is not None:
            acked = directory.names(session, [incident.acknowledged_by]).get(incident.acknowledged_by)
        return messages.incident_header(incident, timezone=self.ctx.timezone, acked_by_name=acked,
                                        current_step=self.current_label(incident))

    def _view(self, loaded: LoadedPlaybook, state: RunState, step: Step | GroupPart) -> messages.StepView:
        order = [s.id for s in loaded.playbook.all_steps()]
        due = next((t.due_at for t in state.steps[step.id].timers if t.kind == "complete"), None)
        return messages.StepView(
            step_id=step.id, number=order.index(step.id) + 1, total=len(order), title_zh=step.title.zh,
            title_en=step.title.en, instructions_zh=step.instructions.zh if step.instructions else "",
            instructions_en=step.instructions.en if step.instructions else "",
            role=step.role or "anyone", due=local_time(due, self.ctx.timezone) if due else None, safety=step.safety,
            prompt=input_prompt(step), choices=tuple((o.value, f"{o.label.zh} {o.label.en}")
                                                     for o in getattr(step.input, "options", []) or []),
        )

    def announce(self, session: Session, incident: Incident, *, now: datetime) -> None:
        """Post the first steps of a newly pinned run."""
        run = self._run(incident)
        if run is None:
            return
        assert incident.id is not None
        loaded, state = run
        for step_id in self.current_ids(incident):
            self._post_step(session, incident.id, loaded, state, step_id, now=now)

    def _post_step(self, session: Session, incident_id: int, loaded: LoadedPlaybook, state: RunState,
                   step_id: str, *, now: datetime) -> None:
        step = loaded.playbook.step(step_id)
        iteration = state.steps[step_id].iteration
        card = messages.step_message(incident_id, self._view(loaded, state, step))
        self.ctx.notifier.post(session, incident_id, card, suffix=f"step:{step_id}:{iteration}")
        service.save_step(session, incident_id=incident_id, step_id=step_id, status="active",
                          actor=SYSTEM, now=now)

    def complete(self, *, incident_id: int, step_id: str | None, actor: Actor, dedupe_key: str | None,
                 answer: str | None = None) -> Reply:
        """Mark a step done for ``actor`` (the first step they may do when ``step_id`` is None)."""
        now = self.ctx.now()
        try:
            with self.ctx.db.unit_of_work() as session:
                remember(session, dedupe_key, actor)
                incident = service.get_incident(session, incident_id=incident_id, for_update=True)
                if Status(incident.status) not in OPEN_STATUSES:
                    return Reply(f"事件 #{incident_id} 已结束 / Incident #{incident_id} is over", ok=False)
                run = self._run(incident)
                if run is None:
                    return Reply(f"事件 #{incident_id} 没有预案 / Incident #{incident_id} has no playbook", ok=False)
                loaded, state = run
                before = self.current_ids(incident)
                target = step_id or next((s for s in before if _may_do(actor, loaded.playbook.step(s))),
                                         before[0] if before else None)
                if target is None or target not in before:
                    return Reply(f"没有可完成的当前步骤 / No current step to complete ({step_id or '-'})", ok=False)
                iteration = state.steps[target].iteration
                decision = walker.apply(loaded.playbook, state,
                                        StepCompleted(target, actor.name, actor.roles, answer), now=now)
                self._apply(session, incident, loaded, decision, before=before, now=now)
                step = loaded.playbook.step(target)
                done_view = self._view(loaded, state, step)
                self.ctx.notifier.edit(session, incident_id,
                                       messages.step_message(incident_id, done_view, done_by=actor.name),
                                       suffix=f"step:{target}:{iteration}")
                service.save_step(session, incident_id=incident_id, step_id=target, status="done", actor=actor,
                                  now=now, answer=decision.state.answers.get(_input_id(step)))
                text = say("step_done_msg", who=actor.name, step_zh=step.title.zh, step_en=step.title.en)
                self.ctx.notifier.update_header(session, incident_id, self.header(session, incident))
        except DuplicateEvent:
            return Reply(say("duplicate"))
        except IntegrityError:
            return Reply(say("duplicate"))
        except (StepRejected, service.IncidentNotFound) as exc:
            return Reply(str(exc), ok=False)
        self.ctx.wake_outbox()
        return Reply(text)

    def _apply(self, session: Session, incident: Incident, loaded: LoadedPlaybook, decision: Decision, *,
               before: list[str], now: datetime) -> None:
        assert incident.id is not None
        incident.playbook_state = decision.state.to_json()
        session.add(incident)
        for message in decision.messages:
            self.ctx.notifier.post(session, incident.id, messages.notice(incident.id, f"{message.zh}\n{message.en}"))
        for step_id in self.current_ids(incident):
            if step_id not in before:
                self._post_step(session, incident.id, loaded, decision.state, step_id, now=now)
        if decision.finished:
            self.ctx.notifier.post(session, incident.id, messages.notice(incident.id, say("playbook_done_msg"),
                                                                         tone="ok"))


def _input_id(step: Step | GroupPart) -> str:
    return step.input.id if step.input is not None else ""


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


def _may_do(actor: Actor, step: Step | GroupPart) -> bool:
    return step.role in (None, "anyone") or actor.has_any_role([step.role] if step.role else [])
