"""Incident milestones people can trust: impact started, detected, acknowledged, mitigated, resolved, closed.

The system sets each one when it knows it (the first alert's reading time, the incident's own
timestamps); a person with ``Permission.EDIT_MILESTONES`` may correct one with a reason. Every edit is
kept (``MilestoneEdit``, the latest per milestone counts) and audited with before and after, so that the
review and the statistics use the corrected times and say that they were corrected (21 CFR 11.10(e):
changes do not obscure what was recorded before).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, Session, SQLModel, col, select

from incidents import audit
from incidents.actors import Actor
from incidents.tables import Alert, Incident

KEYS = ("impact_started", "detected", "acknowledged", "mitigated", "resolved", "closed")
"""The milestones in the order they happen."""


class MilestoneEdit(SQLModel, table=True):
    """A person's correction of one milestone of an incident; ``system_at`` is what the system had recorded."""

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(index=True)
    key: str
    at: datetime
    system_at: datetime | None = None
    person_id: int | None = None
    person_name: str
    reason: str = Field(sa_column=Column(Text, nullable=False))
    edited_at: datetime


@dataclass(frozen=True, slots=True)
class MilestoneValue:
    """A milestone as it counts: ``at`` (edited or the system's), the system's own time, and who edited it why."""

    key: str
    at: datetime | None
    system_at: datetime | None
    edited_by: str | None = None
    reason: str | None = None

    @property
    def edited(self) -> bool:
        """Whether a person corrected this milestone."""
        return self.edited_by is not None


class MilestoneRefused(ValueError):
    """An edit that cannot be made (unknown milestone, no reason, a time in the future or out of order);
    the message is bilingual."""


def system_times(session: Session, incident: Incident) -> dict[str, datetime | None]:
    """The milestones the system knows: impact starts at the first alert's reading (never after detection)."""
    first = session.exec(select(Alert.at).where(Alert.incident_id == incident.id, Alert.kind == "firing")
                         .order_by(col(Alert.at)).limit(1)).first()
    impact = min(first, incident.opened_at) if first is not None else incident.opened_at
    return {"impact_started": impact, "detected": incident.opened_at, "acknowledged": incident.acknowledged_at,
            "mitigated": incident.mitigating_at, "resolved": incident.resolved_at, "closed": incident.closed_at}


def _latest_edits(session: Session, incident_ids: Iterable[int]) -> dict[tuple[int, str], MilestoneEdit]:
    ids = list(incident_ids)
    if not ids:
        return {}
    rows = session.exec(select(MilestoneEdit).where(col(MilestoneEdit.incident_id).in_(ids))
                        .order_by(col(MilestoneEdit.id)))
    return {(row.incident_id, row.key): row for row in rows}


def effective(session: Session, incident: Incident) -> dict[str, MilestoneValue]:
    """Every milestone of ``incident`` as it counts, by key (in ``KEYS`` order)."""
    return effective_many(session, [incident])[incident.id or 0]


def effective_many(session: Session, incidents: list[Incident]) -> dict[int, dict[str, MilestoneValue]]:
    """``effective`` for several incidents with one query of the edits."""
    edits = _latest_edits(session, [i.id for i in incidents if i.id is not None])
    found: dict[int, dict[str, MilestoneValue]] = {}
    for incident in incidents:
        assert incident.id is not None
        system = system_times(session, incident)
        values = {}
        for key in KEYS:
            edit = edits.get((incident.id, key))
            values[key] = MilestoneValue(key, system[key], system[key]) if edit is None else \
                MilestoneValue(key, edit.at, system[key], edit.person_name, edit.reason)
        found[incident.id] = values
    return found


def edit(session: Session, *, incident: Incident, key: str, at: datetime, actor: Actor, reason: str,
         now: datetime) -> MilestoneValue:
    """Correct one milestone; audited with the time before and after. MilestoneRefused for an unknown key, no
    reason, a time after ``now``, or a time that would put the milestones out of order."""
    assert incident.id is not None
    if key not in KEYS:
        raise MilestoneRefused(f"未知的里程碑「{key}」，可用：{', '.join(KEYS)} / Unknown milestone \"{key}\"; "
                               f"known: {', '.join(KEYS)}")
    if not reason.strip():
        raise MilestoneRefused("修改里程碑需要填写原因 / A reason is required to edit a milestone")
    if at > now:
        raise MilestoneRefused("里程碑时间不能晚于现在 / A milestone cannot be in the future")
    current = effective(session, incident)
    order = list(KEYS)
    for other in KEYS:
        other_at = current[other].at
        if other_at is None or other == key:
            continue
        if (order.index(other) < order.index(key) and other_at > at) or \
                (order.index(other) > order.index(key) and other_at < at):
            raise MilestoneRefused(f"{key} 须在 {other} 之{'后' if order.index(other) < order.index(key) else '前'} / "
                                   f"{key} must not be {'before' if order.index(other) < order.index(key) else 'after'}"
                                   f" {other} ({other_at.isoformat()})")
    before = current[key]
    session.add(MilestoneEdit(incident_id=incident.id, key=key, at=at, system_at=before.system_at,
                              person_id=actor.person_id, person_name=actor.name, reason=reason.strip(),
                              edited_at=now))
    audit.record(session, action="milestone.edited", actor=actor, incident_id=incident.id, object_type="milestone",
                 object_id=key, before={"at": before.at.isoformat() if before.at else None},
                 after={"at": at.isoformat()}, reason=reason.strip(), at=now)
    return MilestoneValue(key, at, before.system_at, actor.name, reason.strip())
