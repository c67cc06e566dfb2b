"""One-time codes: ``/link CODE`` binds a chat account to a person; a sign-in link lets a new person
(the first admin, say) in once to set a password. Stored as sha256, single use, short-lived."""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from incidents import audit
from incidents.actors import Actor
from incidents.clock import as_utc
from incidents.directory import actor_for
from incidents.identity.sessions import digest
from incidents.identity.tables import OneTimeCode
from incidents.tables import ChatIdentity, Person

LINK = "link"
SIGNIN = "signin"
LINK_TTL = timedelta(minutes=15)
SIGNIN_TTL = timedelta(hours=24)
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed on a phone
LINK_LENGTH = 8  # 40 bits; single use and short-lived


def _normalise(code: str) -> str:
    return code.strip().upper().replace("-", "").replace(" ", "")


def issue(session: Session, *, purpose: str, person_id: int, by: Actor, now: datetime) -> str:
    """A new one-time code for a person (``LINK`` or ``SIGNIN``); audited without the code itself."""
    if purpose == LINK:
        code = "".join(secrets.choice(_ALPHABET) for _ in range(LINK_LENGTH))
        ttl = LINK_TTL
    else:
        code, ttl = secrets.token_urlsafe(32), SIGNIN_TTL
    row = OneTimeCode(purpose=purpose, code_hash=digest(_normalise(code) if purpose == LINK else code),
                      person_id=person_id, created_at=now, created_by=by.person_id, expires_at=now + ttl)
    session.add(row)
    session.flush()
    audit.record(session, action=f"code.issued_{purpose}", actor=by, object_type="person", object_id=str(person_id),
                 after={"code_id": row.id, "expires_at": row.expires_at.isoformat()}, at=now)
    return code


def _take(session: Session, *, purpose: str, code: str, now: datetime) -> OneTimeCode | str:
    """The unused, unexpired code row (now used), or why not."""
    key = _normalise(code) if purpose == LINK else code.strip()
    row = session.exec(select(OneTimeCode).where(OneTimeCode.code_hash == digest(key),
                                                 OneTimeCode.purpose == purpose)).first()
    if row is None:
        return "unknown code"
    if row.used_at is not None:
        return "code already used"
    if as_utc(row.expires_at) <= now:
        return "code expired"
    row.used_at = now
    session.add(row)
    return row


@dataclass(frozen=True, slots=True)
class LinkOutcome:
    """A linked person, or the reason the code was refused (``problem`` is a catalogue key)."""

    person: Person | None
    problem: str = ""
    detail: str = ""


def redeem_link(session: Session, *, code: str, platform: str, platform_user_id: str, display_name: str,
                now: datetime) -> LinkOutcome:
    """Bind the platform user id that sent ``/link CODE`` to the code's person; audited either way.

    Never by display name: the id the platform vouches for is what is bound. A platform id already
    bound to someone else is refused (an admin removes that link first); a person has at most one
    account per platform, so a new link replaces theirs (audited with before and after).
    """
    caller = Actor(person_id=None, name=display_name or "unknown", platform=platform,
                   platform_user_id=platform_user_id)
    taken = _take(session, purpose=LINK, code=code, now=now)
    if isinstance(taken, str):
        audit.record(session, action="link.refused", actor=caller, object_type="identity",
                     object_id=f"{platform}:{platform_user_id}", reason=taken, at=now)
        return LinkOutcome(None, "link_bad_code")
    person = session.get(Person, taken.person_id)
    if person is None or not person.active:
        audit.record(session, action="link.refused", actor=caller, object_type="identity",
                     object_id=f"{platform}:{platform_user_id}", reason="person deactivated", at=now)
        return LinkOutcome(None, "link_bad_code")
    existing = session.exec(select(ChatIdentity).where(ChatIdentity.platform == platform,
                                                       ChatIdentity.platform_user_id == platform_user_id)).first()
    if existing is not None and existing.person_id != person.id:
        holder = session.get(Person, existing.person_id)
        audit.record(session, action="link.refused", actor=caller, object_type="identity",
                     object_id=f"{platform}:{platform_user_id}",
                     reason=f"already linked to person #{existing.person_id}", at=now)
        return LinkOutcome(None, "link_taken", f"{holder.name_zh} {holder.name_en}" if holder else "?")
    if existing is not None:
        return LinkOutcome(person)
    assert person.id is not None
    previous = session.exec(select(ChatIdentity).where(ChatIdentity.person_id == person.id,
                                                       ChatIdentity.platform == platform)).first()
    before = {"identity": f"{platform}:{previous.platform_user_id}"} if previous else None
    if previous is not None:
        session.delete(previous)
        session.flush()
    session.add(ChatIdentity(person_id=person.id, platform=platform, platform_user_id=platform_user_id))
    audit.record(session, action="directory.link_added", actor=actor_for(person, platform=platform,
                                                                         platform_user_id=platform_user_id),
                 object_type="person", object_id=str(person.id), before=before,
                 after={"identity": f"{platform}:{platform_user_id}", "display_name": display_name or None}, at=now)
    return LinkOutcome(person)


def remove_link(session: Session, *, identity_id: int, by: Actor, now: datetime, reason: str = "") -> ChatIdentity:
    """Unbind a chat account from its person (the row goes; the audit keeps before and after)."""
    row = session.get(ChatIdentity, identity_id)
    if row is None:
        raise LookupError(f"没有编号为 #{identity_id} 的账号关联 / There is no chat link #{identity_id}")
    session.delete(row)
    audit.record(session, action="directory.link_removed", actor=by, object_type="person",
                 object_id=str(row.person_id), before={"identity": f"{row.platform}:{row.platform_user_id}"},
                 after=None, reason=reason or None, at=now)
    return row


def redeem_signin(session: Session, *, code: str, now: datetime) -> Person | None:
    """The person a one-time sign-in link was made for (the link is now used), or None; failures audited."""
    taken = _take(session, purpose=SIGNIN, code=code, now=now)
    if isinstance(taken, str):
        audit.record(session, action="auth.signin_failed", actor=Actor(person_id=None, name="unknown", platform="web"),
                     object_type="code", reason=f"sign-in link: {taken}", at=now)
        return None
    person = session.get(Person, taken.person_id)
    return person if person is not None and person.active else None
