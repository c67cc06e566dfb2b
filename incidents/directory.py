"""The admin-managed people directory: persons, their roles, and their chat identities."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from incidents import audit
from incidents.actors import SYSTEM, Actor
from incidents.clock import utcnow
from incidents.staffing import qualification_valid
from incidents.tables import ChatIdentity, Person, Shift
from playbooks.schema import ROLES

PLATFORMS = ("webchat", "slack", "telegram", "wecom")


class DirectoryRefused(ValueError):
    """A directory change that would make the directory wrong (unknown role, duplicate person or
    account); the message is bilingual and says what to do instead."""


def actor_for(person: Person, *, platform: str | None = None, platform_user_id: str | None = None) -> Actor:
    """The Actor a person acts as on a platform."""
    return Actor(person_id=person.id, name=f"{person.name_zh} {person.name_en}", roles=tuple(person.roles),
                 platform=platform, platform_user_id=platform_user_id, admin=person.admin, language=person.language)


def actor_by_id(session: Session, person_id: int, *, platform: str, platform_user_id: str | None = None
                ) -> Actor | None:
    """The Actor of an active person whom an edge has verified itself (web session, API token)."""
    person = session.get(Person, person_id)
    if person is None or not person.active:
        return None
    return actor_for(person, platform=platform, platform_user_id=platform_user_id)


def check_roles(roles: Sequence[str]) -> list[str]:
    """The role codes, upper-cased and de-duplicated; DirectoryRefused naming the valid ones otherwise."""
    cleaned = list(dict.fromkeys(r.strip().upper() for r in roles if r.strip()))
    unknown = [r for r in cleaned if r not in ROLES]
    if unknown:
        valid = ", ".join(f"{code} ({zh} {en})" for code, (zh, en) in ROLES.items())
        raise DirectoryRefused(f"未知的角色代码：{', '.join(unknown)}。可用：{valid} / Unknown role code(s): "
                               f"{', '.join(unknown)}. Valid codes: {valid}")
    return cleaned


def _check_identity(session: Session, platform: str, user_id: str, *, person_id: int | None) -> None:
    if platform not in PLATFORMS:
        raise DirectoryRefused(f"未知的平台「{platform}」，可用：{', '.join(PLATFORMS)} / Unknown platform "
                               f"\"{platform}\"; known: {', '.join(PLATFORMS)}")
    taken = session.exec(select(ChatIdentity).where(ChatIdentity.platform == platform,
                                                    ChatIdentity.platform_user_id == user_id)).first()
    if taken is not None and taken.person_id != person_id:
        raise DirectoryRefused(f"{platform}:{user_id} 已关联到人员 #{taken.person_id} / {platform}:{user_id} is "
                               f"already linked to person #{taken.person_id}")


def person_json(session: Session, person: Person) -> dict[str, object]:
    """The directory facts of a person, as audited in before/after."""
    links = session.exec(select(ChatIdentity).where(ChatIdentity.person_id == person.id)).all()
    return {"name_zh": person.name_zh, "name_en": person.name_en, "roles": list(person.roles),
            "admin": person.admin, "active": person.active, "login": person.login, "email": person.email,
            "qualifications": list(person.qualifications), "language": person.language,
            "identities": sorted(f"{i.platform}:{i.platform_user_id}" for i in links)}


def resolve(session: Session, *, platform: str, platform_user_id: str) -> Actor | None:
    """The mapped, active person behind a platform user id, or None."""
    row = session.exec(
        select(Person).join(ChatIdentity, ChatIdentity.person_id == Person.id)  # type: ignore[arg-type]
        .where(ChatIdentity.platform == platform, ChatIdentity.platform_user_id == platform_user_id)
    ).first()
    if row is None or not row.active:
        return None
    return actor_for(row, platform=platform, platform_user_id=platform_user_id)


# Built once, reused with their cache keys (incidents.service._FIND_OPEN): the step cards of a new incident
# read them.
_ACTIVE = select(Person).where(Person.active == True)  # noqa: E712
_SHIFTS_OF = select(Shift).where(col(Shift.person_id).in_(bindparam("ids", expanding=True)))


def active_people(session: Session) -> list[Person]:
    """Everyone active in the directory."""
    return list(session.exec(_ACTIVE))


def with_role(session: Session, *, role: str, at: datetime | None = None, qualification: str | None = None,
              active: Sequence[Person] | None = None) -> list[Person]:
    """Active people holding ``role`` (and ``qualification``, valid on the day of ``at``, when one is required);
    those on shift at ``at`` when the roster has shifts for the role. ``active``: ``active_people`` already
    read in this transaction, so that several look-ups read the directory once."""
    people = [p for p in (active_people(session) if active is None else active) if role in p.roles]
    if qualification is not None:
        day = (at or utcnow()).date()
        people = [p for p in people if qualification_valid(p, qualification, on=day)]
    ids = [p.id for p in people if p.id is not None]
    if not ids:
        return []
    moment = at or utcnow()
    rostered = session.exec(_SHIFTS_OF, params={"ids": ids}).all()
    if not rostered:
        return people
    on_duty = {s.person_id for s in rostered if s.starts_at <= moment < s.ends_at}
    return [p for p in people if p.id in on_duty] or people


@dataclass(slots=True)
class RoleHolders:
    """Role look-ups kept for one transaction (the step cards and notices of a new incident): the directory is
    read once, each (role, qualification) found once, at the ``at`` of its first look-up."""

    active: list[Person] | None = None
    found: dict[tuple[str, str | None], list[Person]] = field(default_factory=dict)

    def with_role(self, session: Session, *, role: str, at: datetime, qualification: str | None) -> list[Person]:
        """``with_role``, remembered."""
        key = (role, qualification)
        if key not in self.found:
            if self.active is None:
                self.active = active_people(session)
            self.found[key] = with_role(session, role=role, at=at, qualification=qualification,
                                                  active=self.active)
        return self.found[key]


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
    identities: Sequence[tuple[str, str]] = (), by: Actor = SYSTEM, admin: bool = False,
    login: str | None = None, email: str | None = None, qualifications: Sequence[str] = (),
) -> Person:
    """Add a person with roles and (platform, user id) identities; audited.

    DirectoryRefused for an unknown role code, a person of the same name or login, or a chat
    account that is already someone's: nobody ends up in the directory twice.
    """
    checked = check_roles(roles)
    if not name_zh.strip() or not name_en.strip():
        raise DirectoryRefused("需要中文名和英文名 / Both the Chinese and the English name are needed")
    same = session.exec(select(Person).where(Person.name_zh == name_zh.strip(),
                                             Person.name_en == name_en.strip())).first()
    if same is not None and (not login or not same.login):  # two real people of one name differ by login
        raise DirectoryRefused(f"{name_zh} {name_en} 已在人员目录中（#{same.id}）；请编辑该人员或关联账号；"
                               f"若确为同名的另一人，请为两人分别指定登录名 / {name_en} is already in the directory as "
                               f"#{same.id}: edit that person or link an account to them instead; if this is "
                               "another person of the same name, give each a distinct login")
    login = _check_login(session, login, person_id=None)
    for platform, user_id in identities:
        _check_identity(session, platform, user_id, person_id=None)
    person = Person(name_zh=name_zh.strip(), name_en=name_en.strip(), roles=checked, admin=admin, login=login,
                    email=(email or "").strip().lower() or None, qualifications=[q.strip() for q in qualifications
                                                                              if q.strip()])
    session.add(person)
    session.flush()
    assert person.id is not None
    for platform, user_id in identities:
        session.add(ChatIdentity(person_id=person.id, platform=platform, platform_user_id=user_id))
    session.flush()
    audit.record(session, action="directory.person_added", actor=by, object_type="person",
                 object_id=str(person.id), after=person_json(session, person))
    return person


def _check_login(session: Session, login: str | None, *, person_id: int | None) -> str | None:
    if login is None or not login.strip():
        return None
    cleaned = login.strip().lower()
    if not cleaned.replace(".", "").replace("-", "").replace("_", "").replace("@", "").isalnum() or len(cleaned) > 64:
        raise DirectoryRefused(f"登录名「{login}」只能包含字母、数字和 . - _ @ / The login \"{login}\" may only hold "
                               "letters, digits and . - _ @")
    taken = session.exec(select(Person).where(Person.login == cleaned)).first()
    if taken is not None and taken.id != person_id:
        raise DirectoryRefused(f"登录名「{cleaned}」已被 #{taken.id} 使用 / The login \"{cleaned}\" belongs to "
                               f"#{taken.id}")
    return cleaned


def set_language(session: Session, *, person_id: int, language: str, by: Actor) -> Person:
    """Set what a person reads (``zh``, ``en``, ``both`` or a catalogue's code, checked by the caller against
    ``handlers.i18n.languages``); audited with before and after. LookupError when the person is unknown."""
    person = session.get(Person, person_id)
    if person is None:
        raise LookupError(f"没有编号为 #{person_id} 的人员 / There is no person #{person_id}")
    if person.language != language:
        before = person_json(session, person)
        person.language = language
        session.add(person)
        session.flush()
        audit.record(session, action="directory.person_edited", actor=by, object_type="person",
                     object_id=str(person_id), before=before, after=person_json(session, person))
    return person


def edit_person(
    session: Session, *, person_id: int, by: Actor, name_zh: str | None = None, name_en: str | None = None,
    roles: Sequence[str] | None = None, admin: bool | None = None, login: str | None = None,
    email: str | None = None, qualifications: Sequence[str] | None = None,
) -> Person:
    """Change a person's directory facts; audited with before and after. LookupError when unknown."""
    person = session.get(Person, person_id)
    if person is None:
        raise LookupError(f"没有编号为 #{person_id} 的人员 / There is no person #{person_id}")
    before = person_json(session, person)
    if roles is not None:
        person.roles = check_roles(roles)
    if name_zh is not None and name_zh.strip():
        person.name_zh = name_zh.strip()
    if name_en is not None and name_en.strip():
        person.name_en = name_en.strip()
    if admin is not None:
        person.admin = admin
    if login is not None:
        person.login = _check_login(session, login, person_id=person_id)
    if email is not None:
        person.email = email.strip().lower() or None
    if qualifications is not None:
        person.qualifications = [q.strip() for q in qualifications if q.strip()]
    session.add(person)
    session.flush()
    after = person_json(session, person)
    if after != before:
        audit.record(session, action="directory.person_edited", actor=by, object_type="person",
                     object_id=str(person_id), before=before, after=after)
    return person


def set_active(session: Session, *, person_id: int, active: bool, by: Actor, reason: str = "") -> Person:
    """Deactivate (or reactivate) a person: never deleted, so the record keeps naming them. Audited."""
    person = session.get(Person, person_id)
    if person is None:
        raise LookupError(f"没有编号为 #{person_id} 的人员 / There is no person #{person_id}")
    if person.active != active:
        person.active = active
        session.add(person)
        audit.record(session, action="directory.person_activated" if active else "directory.person_deactivated",
                     actor=by, object_type="person", object_id=str(person_id), before={"active": not active},
                     after={"active": active}, reason=reason or None)
    return person


def link(session: Session, *, person_id: int, platform: str, user_id: str, by: Actor) -> ChatIdentity:
    """Link a chat account to a person by the platform's user id (an admin or the CLI); audited."""
    if session.get(Person, person_id) is None:
        raise LookupError(f"没有编号为 #{person_id} 的人员 / There is no person #{person_id}")
    _check_identity(session, platform, user_id, person_id=person_id)
    row = session.exec(select(ChatIdentity).where(ChatIdentity.platform == platform,
                                                  ChatIdentity.platform_user_id == user_id)).first()
    if row is not None:
        return row
    row = ChatIdentity(person_id=person_id, platform=platform, platform_user_id=user_id)
    session.add(row)
    session.flush()
    audit.record(session, action="directory.link_added", actor=by, object_type="person", object_id=str(person_id),
                 after={"identity": f"{platform}:{user_id}"})
    return row


def links_of(session: Session, person_id: int | None = None) -> list[ChatIdentity]:
    """Chat links of one person, or all of them."""
    query = select(ChatIdentity).order_by(col(ChatIdentity.id))
    if person_id is not None:
        query = query.where(ChatIdentity.person_id == person_id)
    return list(session.exec(query))


def names(session: Session, person_ids: Sequence[int]) -> dict[int, str]:
    """Display names by person id."""
    if not person_ids:
        return {}
    rows = session.exec(select(Person).where(Person.id.in_(list(person_ids)))).all()  # type: ignore[union-attr]
    return {p.id: f"{p.name_zh} {p.name_en}" for p in rows if p.id is not None}
