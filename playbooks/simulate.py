"""Run a playbook against scripted answers on a fake clock and report the path it takes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import yaml

from playbooks.durations import format_offset, parse_duration
from playbooks.loader import LoadedPlaybook
from playbooks.run_state import (
    Answer,
    Decision,
    Event,
    RunState,
    StepClaimed,
    StepCompleted,
    StepRejected,
    StepSkipped,
    StepState,
    TimerFired,
    TimerKind,
)
from playbooks.schema import Action, Playbook
from playbooks.walker import apply, start

EVENT_KEYS = ("complete", "skip", "claim", "advance")


class ScriptError(ValueError):
    """A scripted event that cannot be understood."""


@dataclass(frozen=True)
class PathLine:
    """One line of a simulated path: time since the start, the step, and what happened to it."""

    offset: timedelta
    step_id: str
    outcome: str

    def __str__(self) -> str:
        return f"{format_offset(self.offset)} {self.step_id}: {self.outcome}"


@dataclass(frozen=True)
class SimulationResult:
    """The path taken, the final state, and whether the playbook finished."""

    path: tuple[PathLine, ...]
    state: RunState
    finished: bool

    def lines(self) -> list[str]:
        """The path as printable lines."""
        return [str(line) for line in self.path]


def load_script(path: Path | str) -> dict[str, Any]:
    """A script file: a list of events, or {context: {...}, events: [...]} (YAML or JSON)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, list):
        return {"context": {}, "events": data}
    if isinstance(data, dict) and isinstance(data.get("events"), list):
        return {"context": dict(data.get("context") or {}), "events": data["events"]}
    raise ScriptError(f"{path}: expected a list of events or a mapping with 'events'")


def simulate(
    loaded: LoadedPlaybook,
    answers_script: Sequence[Mapping[str, Any]],
    *,
    start: datetime,
    context: Mapping[str, object] | None = None,
) -> SimulationResult:
    """Walk `loaded` through the scripted events; refused events are reported in the path, not raised."""
    sim = _Simulation(loaded, start, context or {})
    for entry in answers_script:
        sim.play(entry)
    return SimulationResult(tuple(sim.path), sim.state, sim.finished)


class _Simulation:
    def __init__(self, loaded: LoadedPlaybook, begin: datetime, context: Mapping[str, object]) -> None:
        self.playbook = loaded.playbook
        self.begin = begin
        self.now = begin
        self.context = context
        self.path: list[PathLine] = []
        first = _start(self.playbook, begin, context)
        self.state = first.state
        self.finished = first.finished
        self._record(None, first)

    def play(self, entry: Mapping[str, Any]) -> None:
        keys = [key for key in EVENT_KEYS if key in entry]
        if len(keys) != 1:
            raise ScriptError(f"each event needs exactly one of {', '.join(EVENT_KEYS)}: {dict(entry)}")
        if keys[0] == "advance":
            self._advance(parse_duration(str(entry["advance"])))
            return
        step_id = str(entry[keys[0]])
        role = str(entry.get("by", "SL"))
        actor = str(entry.get("actor", role.lower()))
        event: Event
        if keys[0] == "complete":
            event = StepCompleted(step_id, actor, (role,), entry.get("answer"))
        elif keys[0] == "skip":
            event = StepSkipped(step_id, actor, str(entry.get("reason", "")))
        else:
            event = StepClaimed(step_id, actor)
        self._apply(event)

    def _advance(self, duration: timedelta) -> None:
        until = self.now + duration
        while True:
            due = [timer for timer in _timers(self.state) if timer[0] <= until]
            if not due:
                break
            due_at, step_id, kind, token = min(due)
            self.now = due_at
            self._apply(TimerFired(step_id, cast(TimerKind, kind), token))
        self.now = until

    def _apply(self, event: Event) -> None:
        before = self.state
        try:
            decision = apply(self.playbook, self.state, event, now=self.now, context=self.context)
        except StepRejected as error:
            self.path.append(PathLine(self.now - self.begin, event.step_id, f"refused: {error.en}"))
            return
        self.state = decision.state
        self.finished = decision.finished
        self._record(before, decision, event)

    def _record(self, before: RunState | None, decision: Decision, event: Event | None = None) -> None:
        offset = self.now - self.begin
        for step in self.playbook.all_steps():
            old = before.steps[step.id] if before is not None else None
            new = decision.state.steps[step.id]
            own_event = event if event is not None and event.step_id == step.id else None
            answer = decision.state.answers.get(step.input.id) if step.input is not None else None
            outcome = _outcome(old, new, own_event, answer)
            if outcome:
                self.path.append(PathLine(offset, step.id, outcome))
        for request in decision.actions:
            suffix = f" {_target(request.action)}" if _target(request.action) else ""
            self.path.append(PathLine(offset, request.step_id, f"action {request.action.action}{suffix}"))
        if decision.finished and (before is None or not before.finished):
            self.path.append(PathLine(offset, "-", "finished"))


def _target(action: Action) -> str:
    """Who or what an action is aimed at, for the path."""
    for name in ("role", "topic", "url", "severity", "playbook"):
        value = getattr(action, name, None)
        if isinstance(value, str):
            return value
    return ""


def _start(playbook: Playbook, begin: datetime, context: Mapping[str, object]) -> Decision:
    return start(playbook, now=begin, context=context)


def _timers(state: RunState) -> list[tuple[datetime, str, str, str]]:
    return [
        (timer.due_at, step_id, timer.kind, timer.token)
        for step_id, step in state.steps.items()
        for timer in step.timers
    ]


def _outcome(old: StepState | None, new: StepState, event: Event | None, answer: Answer) -> str:
    """What changed for one step, in words ('' if nothing worth a line)."""
    if old is not None and old.status == new.status and old.iteration == new.iteration:
        if isinstance(event, StepClaimed):
            return f"claimed by {event.actor}"
        if isinstance(event, StepCompleted) and len(new.done_by) > len(old.done_by):
            return f"confirmed 1 of 2 by {event.actor}"
        if isinstance(event, TimerFired) and new.reminders > old.reminders:
            return f"{event.kind} timer: reminder {new.reminders}"
        if isinstance(event, TimerFired):
            return f"{event.kind} timer fired"
        return ""
    if new.status == "active":
        return f"active (repeat {new.iteration})" if new.iteration > 1 else "active"
    if new.status == "done":
        said = f" (answer: {answer!r})" if answer is not None else ""
        chose = f", next {new.chosen}" if new.chosen else ""
        return f"done by {', '.join(new.done_by)}{said}{chose}" if new.done_by else "done"
    if new.status == "skipped":
        by = f" by {new.skipped_by}" if new.skipped_by else ""
        return f"skipped{by}: {new.skip_reason}"
    return "" if new.status == "pending" else new.status
