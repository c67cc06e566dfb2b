"""The per-(rule, sensor) alert state machine: ok → pending → firing → clearing → ok, with flapping."""

from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from incidents.rules.trend import Trend


class Phase(StrEnum):
    OK = "ok"
    PENDING = "pending"  # condition holds, waiting for ``for``
    FIRING = "firing"
    CLEARING = "clearing"  # clear condition holds, waiting for the clear ``for``


class Change(StrEnum):
    FIRED = "fired"
    RESOLVED = "resolved"
    FLAPPING = "flapping"  # a resolve was refused: too many changes in the flapping window


@dataclass(frozen=True, slots=True)
class Timing:
    """How long a condition must hold, and the flapping limits (0 when not configured)."""

    for_s: float = 0.0
    clear_for_s: float = 0.0
    flap_window_s: float = 0.0
    flap_max: int = 0


@dataclass(slots=True)
class AlertState:
    """Where one rule stands for one sensor. Times are epoch seconds. ``since`` is when the run of
    samples that led to the current phase began (breach start while pending/firing, clear start
    while clearing)."""

    phase: Phase = Phase.OK
    since: float | None = None
    value: float | None = None
    seen: float | None = None
    flapping: bool = False
    cause: str | None = None
    derived: float | None = None
    changes: deque[float] | None = None  # firing/resolved times, kept only by rules with flapping limits
    trend: Trend | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able copy for snapshots."""
        return {
            "phase": self.phase.value,
            "since": self.since,
            "value": self.value,
            "seen": self.seen,
            "flapping": self.flapping,
            "cause": self.cause,
            "derived": self.derived,
            "changes": list(self.changes or ()),
            "trend": None if self.trend is None else [list(p) for p in self.trend.points()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], window: float) -> "AlertState":
        """Rebuild from ``to_dict`` output; ``window`` sizes a restored trend."""
        points = data.get("trend")
        return cls(
            phase=Phase(data["phase"]),
            since=data.get("since"),
            value=data.get("value"),
            seen=data.get("seen"),
            flapping=bool(data.get("flapping", False)),
            cause=data.get("cause"),
            derived=data.get("derived"),
            changes=deque(float(t) for t in data["changes"]) if data.get("changes") else None,
            trend=None if points is None else Trend(window, [(float(t), float(v)) for t, v in points]),
        )


def on_condition(state: AlertState, timing: Timing, breach: bool, clear: bool, t: float) -> Change | None:
    """Feed one evaluation: ``breach`` counts while not firing, ``clear`` while firing."""
    phase = state.phase
    if phase is Phase.OK or phase is Phase.PENDING:
        if not breach:
            if phase is Phase.PENDING:
                state.phase = Phase.OK
            return None
        if phase is Phase.OK:
            state.phase, state.since = Phase.PENDING, t
        return on_time(state, timing, t)
    if not clear:
        if phase is Phase.CLEARING:
            state.phase, state.since = Phase.FIRING, None
        return None
    if phase is Phase.FIRING:
        state.phase, state.since = Phase.CLEARING, t
    return on_time(state, timing, t)


def on_time(state: AlertState, timing: Timing, t: float) -> Change | None:
    """Let time pass: fire or resolve once the condition has held long enough."""
    due = due_at(state, timing)
    if due is None or t < due:
        return None
    if state.phase is Phase.PENDING:
        state.phase = Phase.FIRING
        if timing.flap_max:
            _note_change(state, t)
        return Change.FIRED
    if timing.flap_max and not state.flapping and _changes_within(state, timing, t) + 1 > timing.flap_max:
        state.phase, state.since, state.flapping = Phase.FIRING, None, True
        return Change.FLAPPING
    state.phase, state.flapping = Phase.OK, False
    if timing.flap_max:
        _note_change(state, t)
    return Change.RESOLVED


def due_at(state: AlertState, timing: Timing) -> float | None:
    """When the current pending or clearing run completes, or None when nothing is waiting."""
    if state.since is None:
        return None
    if state.phase is Phase.PENDING:
        return state.since + timing.for_s
    if state.phase is Phase.CLEARING:
        hold = max(timing.clear_for_s, timing.flap_window_s) if state.flapping else timing.clear_for_s
        return state.since + hold
    return None


def _note_change(state: AlertState, t: float) -> None:
    if state.changes is None:
        state.changes = deque()
    state.changes.append(t)


def _changes_within(state: AlertState, timing: Timing, t: float) -> int:
    changes, oldest = state.changes, t - timing.flap_window_s
    if changes is None:
        return 0
    while changes and changes[0] < oldest:
        changes.popleft()
    return len(changes)
