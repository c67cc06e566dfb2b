"""The admin-managed people directory: persons, their roles, and their chat identities."""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from incidents import audit
from incidents.actors import SYSTEM, Actor
from incidents.clock import utcnow
from incidents.tables import ChatIdentity, Person, Shift


def actor_for(person: Person, *, platform: str | None = None, platform_user_id: str | None = None) -> Actor:
    """The Actor a person acts as on a platform."""
    return Actor(person_id=person.id, name=f"{person.name_zh} {person.name_en}", roles=tuple(person.roles),
                 platform=platform, platform_user_id=platform_user_id)


def resolve(session: Session, *, platform: str, platform_user_id: str) -> Actor | None:
    """The mapped, active person behind a platform user id, or None."""
    row = session.exec(
        select(Person).join(ChatIdentity, ChatIdentity.person_id == Person.id)  # type: ignore[arg-type]
        .where(ChatIdentity.platform == platform, ChatIdentity.platform_user_id == platform_user_id)
    ).first()
    if row is None or not row.active:
        return None
    return actor_for(row, platform=platform, platform_user_id=platform_user_id)


def with_role(session: Session, *, role: str, at: datetime | None = None) -> list[Person]:
    """Active people holding ``role``; those on shift at ``at`` when the roster has shifts for the role."""
    people = [p for p in session.exec(select(Person).where(Person.active == True)) if role in p.roles]  # noqa: E712
    ids = [p.id for p in people if p.id is not None]
    if not ids:
        return []
    moment = at or utcnow()
    rostered = session.exec(select(Shift).where(col(Shift.person_id).in_(ids))).all()
    if not rostered:
        return people
    on_duty = {s.person_id for s in rostered if s.starts_at <= moment < s.ends_at}
    return [p for p in people if p.id in on_duty] or people


def add_shift(session: Session, *, person_id: int, starts_at: datetime, ends_at: datetime,
              by: Actor = SYSTEM) -> Shift:
    """Put a person on the roster; audited."""
    if ends_at <= starts_at:
        raise ValueError("班次结束时间必须晚于开始时间 / A shift must end after it starts")
    if session.get(Person, person_id) is None:
        raise ValueError(f"没有编号为 #{person_id} 的人员 / There is no person #{person_id}")
    shift = Shift(person_id=person_id, starts_at=starts_at, ends_at=ends_at)
    session.add(shift)
    session.flush()
    audit.record(session, action="directory.shift_added", actor=by, object_type="person", object_id=str(person_id),
                 after={"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()})
    return shift


def add_person(
    session: Session, *, name_zh: str, name_en: str, roles: Sequence[str],
    identities: Sequence[tuple[str, str]] = (), by: Actor = SYSTEM,
) -> Person:
    """Add a person with roles and (platform, user id) identities; audited."""
    person = Person(name_zh=name_zh, name_en=name_en, roles=list(roles))
    session.add(person)
    session.flush()
    assert person.id is not None
    for platform, user_id in identities:
        session.add(ChatIdentity(person_id=person.id, platform=platform, platform_user_id=user_id))
    audit.record(session, action="directory.person_added", actor=by, object_type="person",
                 object_id=str(person.id),
                 after={"name_zh": name_zh, "name_en": name_en, "roles": list(roles),
                        "identities": [list(i) for i in identities]})
    return person


def names(session: Session, person_ids: Sequence[int]) -> dict[int, str]:
    """Display names by person id."""
    if not person_ids:
        return {}
    rows = session.exec(select(Person).where(Person.id.in_(list(person_ids)))).all()  # type: ignore[union-attr]
    return {p.id: f"{p.name_zh} {p.name_en}" for p in rows if p.id is not None}
