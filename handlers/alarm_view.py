"""How alarm states read in a thread's header and in lists: ``d1-probe-1 已恢复未确认 returned-to-normal
unacknowledged``. Pure reads of ``incidents.alarms`` and ``incidents.shelving``."""

from datetime import datetime

from sqlmodel import Session

from incidents import alarms, shelving
from incidents.alarms import AlarmCondition, AlarmState


def states(session: Session, conditions: list[AlarmCondition], *, now: datetime) -> list[tuple[AlarmCondition,
                                                                                              AlarmState]]:
    """Each condition with its ISA-18.2 state at ``now`` (shelving and out of service included)."""
    return _states(conditions, _held(session, now))


def _held(session: Session, now: datetime) -> set[tuple[str, str]]:
    return {(h.kind, h.target) for h in shelving.in_force(session, now=now)}


def _states(conditions: list[AlarmCondition], held: set[tuple[str, str]]) -> list[tuple[AlarmCondition, AlarmState]]:
    return [(c, alarms.state_of(c, shelved=(shelving.SHELF, c.fingerprint) in held,
                                out_of_service=(shelving.OUT_OF_SERVICE, c.sensor or "") in held))
            for c in conditions]


def state_text(state: AlarmState) -> str:
    """``已恢复未确认 returned-to-normal unacknowledged``."""
    return f"{alarms.STATE_TEXT[state]} {state.value}"


def line(condition: AlarmCondition, state: AlarmState) -> str:
    """One alarm as listed: its sensor (or fingerprint) and state."""
    return f"{condition.sensor or condition.fingerprint} · {state_text(state)}"


def header_text(session: Session, *, incident_id: int, acknowledged: bool, now: datetime) -> str | None:
    """The header's alarm-state field: the alarms of the incident whose state the incident's status does not
    already say (not normal, not an acknowledged alarm, not an unacknowledged one of an unacknowledged
    incident); None when there are none."""
    plain = {AlarmState.NORMAL, AlarmState.ACKNOWLEDGED} | (set() if acknowledged else {AlarmState.UNACKNOWLEDGED})
    held = _held(session, now)
    candidates = alarms.to_mention(session, incident_id=incident_id, acknowledged=acknowledged,
                                   fingerprints={t for k, t in held if k == shelving.SHELF},
                                   sensors={t for k, t in held if k == shelving.OUT_OF_SERVICE})
    shown = [line(c, s) for c, s in _states(candidates, held) if s not in plain]
    return "; ".join(shown) or None


def returned_unacknowledged(session: Session) -> dict[int, int]:
    """Incident id → how many of its alarms returned to normal without anyone acknowledging them."""
    counts: dict[int, int] = {}
    for condition in alarms.needing_attention(session):
        if not condition.active and not condition.acknowledged:
            counts[condition.incident_id] = counts.get(condition.incident_id, 0) + 1
    return counts
