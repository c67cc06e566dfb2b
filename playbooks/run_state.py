"""The state of one playbook run and the events and decisions of the walker; all JSON-serialisable."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeAlias

from playbooks.schema import Action, Role

Answer: TypeAlias = bool | int | float | str | list[str] | None
StepStatus: TypeAlias = Literal["pending", "active", "done", "skipped", "overdue"]
SkipKind: TypeAlias = Literal["branch", "condition", "person"]
TimerKind: TypeAlias = Literal["ack", "complete", "repeat", "reminder"]


class StepRejected(Exception):
    """An event the walker refuses, with the reason in Chinese and English."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


@dataclass(frozen=True)
class Timer:
    """A live timer of a step; only a TimerFired with this token has an effect."""

    kind: TimerKind
    due_at: datetime
    token: str


@dataclass(frozen=True)
class StepState:
    """Where one step stands, and who did what in its current iteration."""

    status: StepStatus = "pending"
    iteration: int = 0
    times_done: int = 0
    claimed_by: str | None = None
    done_by: tuple[str, ...] = ()
    first_answer: Answer = None
    skipped_by: str | None = None
    skip_kind: SkipKind | None = None
    skip_reason: str | None = None
    chosen: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    reminders: int = 0
    timers: tuple[Timer, ...] = ()


@dataclass(frozen=True)
class RunState:
    """One run of a playbook: per-step state, the answers given, and a counter for timer tokens."""

    playbook_id: str
    playbook_version: int
    started_at: datetime
    steps: dict[str, StepState]
    answers: dict[str, Answer] = field(default_factory=dict)
    seq: int = 0
    finished: bool = False

    def to_json(self) -> dict[str, Any]:
        """A JSON-compatible dict (datetimes as ISO 8601 strings)."""
        return {
            "playbook_id": self.playbook_id,
            "playbook_version": self.playbook_version,
            "started_at": self.started_at.isoformat(),
            "steps": {step_id: _step_to_json(step) for step_id, step in self.steps.items()},
            "answers": dict(self.answers),
            "seq": self.seq,
            "finished": self.finished,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunState:
        """The RunState that to_json() produced."""
        return cls(
            playbook_id=data["playbook_id"],
            playbook_version=data["playbook_version"],
            started_at=datetime.fromisoformat(data["started_at"]),
            steps={step_id: _step_from_json(step) for step_id, step in data["steps"].items()},
            answers=dict(data["answers"]),
            seq=data["seq"],
            finished=data["finished"],
        )


def _step_to_json(step: StepState) -> dict[str, Any]:
    return {
        "status": step.status,
        "iteration": step.iteration,
        "times_done": step.times_done,
        "claimed_by": step.claimed_by,
        "done_by": list(step.done_by),
        "first_answer": step.first_answer,
        "skipped_by": step.skipped_by,
        "skip_kind": step.skip_kind,
        "skip_reason": step.skip_reason,
        "chosen": step.chosen,
        "started_at": _iso(step.started_at),
        "finished_at": _iso(step.finished_at),
        "reminders": step.reminders,
        "timers": [
            {"kind": timer.kind, "due_at": timer.due_at.isoformat(), "token": timer.token} for timer in step.timers
        ],
    }


def _step_from_json(data: dict[str, Any]) -> StepState:
    return StepState(
        status=data["status"],
        iteration=data["iteration"],
        times_done=data["times_done"],
        claimed_by=data["claimed_by"],
        done_by=tuple(data["done_by"]),
        first_answer=data["first_answer"],
        skipped_by=data["skipped_by"],
        skip_kind=data["skip_kind"],
        skip_reason=data["skip_reason"],
        chosen=data["chosen"],
        started_at=_from_iso(data["started_at"]),
        finished_at=_from_iso(data["finished_at"]),
        reminders=data["reminders"],
        timers=tuple(
            Timer(kind=timer["kind"], due_at=datetime.fromisoformat(timer["due_at"]), token=timer["token"])
            for timer in data["timers"]
        ),
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


@dataclass(frozen=True)
class StepCompleted:
    """A person says a step is done, with the answer its input asks for."""

    step_id: str
    actor: str
    actor_roles: Collection[str]
    answer: Answer = None
    quorum_size: int | None = None  # a quorum step: how many confirmations complete it (the caller counts holders)


@dataclass(frozen=True)
class StepSkipped:
    """A person skips a step; the reason is required."""

    step_id: str
    actor: str
    reason: str


@dataclass(frozen=True)
class StepClaimed:
    """A person takes a step on (this is the step's acknowledgement)."""

    step_id: str
    actor: str


@dataclass(frozen=True)
class TimerFired:
    """A timer the walker asked for has come due."""

    step_id: str
    kind: TimerKind
    token: str


Event: TypeAlias = StepCompleted | StepSkipped | StepClaimed | TimerFired


@dataclass(frozen=True)
class Deadline:
    """A timer to arm: at due_at, send TimerFired(step_id, kind, token)."""

    step_id: str
    kind: TimerKind
    due_at: datetime
    escalate_to: Role | None
    token: str


@dataclass(frozen=True)
class ActionRequest:
    """An action to run now; `key` is stable, so running it twice can be detected."""

    key: str
    step_id: str
    action: Action


@dataclass(frozen=True)
class Message:
    """Something to tell the incident thread, in Chinese and English."""

    step_id: str | None
    zh: str
    en: str


@dataclass(frozen=True)
class Decision:
    """What the walker decided: the new state, the steps to show, timers to arm, actions to run, messages."""

    state: RunState
    active: tuple[str, ...]
    deadlines: tuple[Deadline, ...]
    actions: tuple[ActionRequest, ...]
    messages: tuple[Message, ...]
    finished: bool
