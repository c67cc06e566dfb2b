"""Staff shortage (人员流动预警): qualifications with expiry, attendance, absences of people on shift for a key
role, and qualified substitutes proposed in order and accepted from chat.

A qualification is written on the person as ``code`` or ``code:YYYY-MM-DD`` (valid until and including that
day), e.g. ``forklift:2027-03-31`` (OSHA 29 CFR 1910.178(l)(4)(iii): operators are re-evaluated at least
every three years; 特种设备安全法 第十四条: certified operators only). The staffing policy
(``config/staffing.yaml``) names the key roles, the qualification each requires, and how long after a
shift starts a missing check-in counts as an absence.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Field as Column
from sqlmodel import Session, SQLModel, col, select

from incidents import audit
from incidents.actors import SYSTEM, Actor
from incidents.tables import Person, Shift
from playbooks.durations import duration_seconds

AttendanceKind = Literal["check_in", "check_out", "absent"]
ATTENDANCE_KINDS: tuple[str, ...] = ("check_in", "check_out", "absent")


class KeyRole(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    qualification: str | None = Field(default=None, description="a qualification code every holder must have")


class StaffingPolicy(BaseModel):
    """Which roles must be covered on every shift and what they require."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_roles: dict[str, KeyRole] = Field(default_factory=dict)
    check_in_grace: float | None = Field(default=None, ge=0, description=(
        "seconds after a shift starts by which a key role's person must have checked in; None: the site feeds no "
        "check-ins, so only an absence reported (/absent, the API, MQTT) counts"))

    def requirement(self, role: str) -> str | None:
        """The qualification ``role`` requires, if any."""
        key = self.key_roles.get(role)
        return key.qualification if key else None


def load_staffing(path: Path) -> StaffingPolicy:
    """Read ``staffing.yaml`` (``check_in_grace`` as a duration such as ``15m``); a missing file is an empty
    policy; a broken one raises ValueError naming the file."""
    if not path.exists():
        return StaffingPolicy()
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if data.get("check_in_grace") is not None:
            data["check_in_grace"] = duration_seconds(data["check_in_grace"])
        return StaffingPolicy.model_validate(data)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"{path}: cannot load the staffing policy: {exc}") from exc


def qualification_valid(person: Person, code: str, *, on: date) -> bool:
    """Whether ``person`` holds ``code`` valid on ``on`` (``code`` or ``code:YYYY-MM-DD`` not yet expired); an
    expiry that does not parse is not valid."""
    for entry in person.qualifications:
        name, _, until = entry.partition(":")
        if name.strip() != code:
            continue
        if not until.strip():
            return True
        try:
            return date.fromisoformat(until.strip()) >= on
        except ValueError:
            return False
    return False


class AttendanceEvent(SQLModel, table=True):
    """A check-in, check-out or absence of a person, from chat, the API, MQTT or the check-in deadline."""

    id: int | None = Column(default=None, primary_key=True)
    person_id: int = Column(index=True)
    kind: str
    at: datetime = Column(index=True)
    source: str
    reason: str | None = None


class SubstituteOffer(SQLModel, table=True):
    """A qualified person proposed to cover an absent person's key role, in order (``rank``); ``status`` is
    waiting (not paged yet), paged, accepted, declined or withdrawn (someone else accepted)."""

    id: int | None = Column(default=None, primary_key=True)
    incident_id: int = Column(index=True)
    role: str
    absent_person_id: int
    person_id: int
    rank: int
    on_shift: bool
    status: str = Column(index=True)
    decided_at: datetime | None = None


def current_shift(session: Session, person_id: int, *, at: datetime) -> Shift | None:
    """The person's shift covering ``at``, if any."""
    return session.exec(select(Shift).where(Shift.person_id == person_id, Shift.starts_at <= at,
                                            Shift.ends_at > at)).first()


def record(session: Session, *, person_id: int, kind: str, at: datetime, source: str, actor: Actor = SYSTEM,
           reason: str | None = None) -> AttendanceEvent:
    """Store an attendance event; audited. ValueError for an unknown kind."""
    if kind not in ATTENDANCE_KINDS:
        raise ValueError(f"未知的考勤类型「{kind}」，可用：{', '.join(ATTENDANCE_KINDS)} / Unknown attendance kind "
                         f"\"{kind}\"; known: {', '.join(ATTENDANCE_KINDS)}")
    event = AttendanceEvent(person_id=person_id, kind=kind, at=at, source=source, reason=reason)
    session.add(event)
    session.flush()
    audit.record(session, action=f"attendance.{kind}", actor=actor, object_type="person", object_id=str(person_id),
                 after={"at": at.isoformat(), "source": source}, reason=reason, at=at)
    return event


def absent_during(session: Session, person_id: int, shift: Shift) -> bool:
    """Whether an absence of the person was recorded for ``shift`` (from an hour before it starts)."""
    return session.exec(select(AttendanceEvent.id).where(
        AttendanceEvent.person_id == person_id, AttendanceEvent.kind == "absent",
        AttendanceEvent.at >= shift.starts_at - timedelta(hours=1), AttendanceEvent.at < shift.ends_at)).first() \
        is not None


def missed_check_ins(session: Session, policy: StaffingPolicy, *, now: datetime) -> list[tuple[Person, Shift]]:
    """People holding a key role whose shift started more than ``check_in_grace`` ago and is not over, with no
    check-in and no absence recorded for it yet; nobody when the policy asks for no check-in."""
    if policy.check_in_grace is None:
        return []
    deadline = now - timedelta(seconds=policy.check_in_grace)
    shifts = session.exec(select(Shift).where(Shift.starts_at <= deadline, Shift.ends_at > now)).all()
    found = []
    for shift in shifts:
        person = session.get(Person, shift.person_id)
        if person is None or not person.active or not set(person.roles) & set(policy.key_roles):
            continue
        seen = session.exec(select(AttendanceEvent.id).where(
            AttendanceEvent.person_id == shift.person_id, col(AttendanceEvent.kind).in_(["check_in", "absent"]),
            AttendanceEvent.at >= shift.starts_at - timedelta(hours=1), AttendanceEvent.at < shift.ends_at)).first()
        if seen is None:
            found.append((person, shift))
    return found


@dataclass(frozen=True, slots=True)
class Candidate:
    person: Person
    on_shift: bool


def substitutes(session: Session, policy: StaffingPolicy, *, role: str, absent: Person, at: datetime
                ) -> list[Candidate]:
    """Active holders of ``role`` with its required qualification valid today, other than ``absent`` and anyone
    absent now: first those on shift (elsewhere), then those off shift; by name within each."""
    needed = policy.requirement(role)
    found = []
    for person in session.exec(select(Person).where(Person.active == True).order_by(col(Person.id))):  # noqa: E712
        if person.id == absent.id or role not in person.roles:
            continue
        if needed is not None and not qualification_valid(person, needed, on=at.date()):
            continue
        shift = current_shift(session, person.id or 0, at=at)
        if shift is not None and absent_during(session, person.id or 0, shift):
            continue
        found.append(Candidate(person, shift is not None))
    return sorted(found, key=lambda c: (not c.on_shift, c.person.name_en))


def offers(session: Session, *, incident_id: int) -> list[SubstituteOffer]:
    """The substitutes proposed for an incident, in order."""
    return list(session.exec(select(SubstituteOffer).where(SubstituteOffer.incident_id == incident_id)
                             .order_by(col(SubstituteOffer.rank))))
