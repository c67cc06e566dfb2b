"""Phone numbers and email addresses, each used only once proved by a code sent to it.

A code is 6 digits, valid for CODE_VALID, at most CODE_ATTEMPTS tries; stored as an argon2 hash.
Phone numbers are E.164 (``+`` and 8 to 15 digits, ITU-T E.164 §6).
"""

import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from incidents import audit
from incidents.actors import SYSTEM, Actor
from incidents.clock import as_utc
from incidents.contacts.tables import ContactPoint
from incidents.tables import Person

PHONE = "phone"
EMAIL = "email"
E164 = re.compile(r"\+[1-9]\d{7,14}")
EMAIL_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
CODE_VALID = timedelta(minutes=10)
CODE_ATTEMPTS = 5
_HASHER = PasswordHasher()


class ContactRefused(ValueError):
    """An address that is malformed or already someone else's; the message is bilingual."""


def normalise(kind: str, address: str) -> str:
    """The address as stored: E.164 without spaces or dashes; email lower-cased. ContactRefused when malformed."""
    if kind == PHONE:
        cleaned = re.sub(r"[\s\-()]", "", address)
        if not E164.fullmatch(cleaned):
            raise ContactRefused(f"电话号码需要 E.164 格式（如 +8613800000000），收到「{address}」 / A phone number "
                                 f"must be E.164 (e.g. +8613800000000), got \"{address}\"")
        return cleaned
    if kind == EMAIL:
        cleaned = address.strip().lower()
        if not EMAIL_ADDRESS.fullmatch(cleaned):
            raise ContactRefused(f"邮箱地址无效：「{address}」 / Not an email address: \"{address}\"")
        return cleaned
    raise ContactRefused(f"未知的联系方式类型「{kind}」（phone、email） / Unknown contact kind \"{kind}\" "
                         "(phone, email)")


def add(session: Session, *, person_id: int, kind: str, address: str, now: datetime,
        by: Actor = SYSTEM) -> tuple[ContactPoint, str]:
    """Add (or re-verify) an address for a person; returns it and the code to send to it. Audited."""
    cleaned = normalise(kind, address)
    point = session.exec(select(ContactPoint).where(ContactPoint.kind == kind, ContactPoint.address == cleaned)).first()
    if point is not None and point.person_id != person_id:
        raise ContactRefused(f"{cleaned} 已属于人员 #{point.person_id} / {cleaned} already belongs to person "
                             f"#{point.person_id}")
    point = point or ContactPoint(person_id=person_id, kind=kind, address=cleaned)
    code = f"{secrets.randbelow(10**6):06d}"
    point.code_hash, point.code_expires_at, point.code_attempts = _HASHER.hash(code), now + CODE_VALID, 0
    session.add(point)
    session.flush()
    audit.record(session, action="contact.point_added", actor=by, object_type="person", object_id=str(person_id),
                 after={"kind": kind, "address": cleaned})
    return point, code


def verify(session: Session, *, point_id: int, code: str, now: datetime) -> bool:
    """True when ``code`` proves the address (it is then verified); audited either way."""
    point = session.get(ContactPoint, point_id)
    if point is None or point.code_hash is None or point.code_expires_at is None:
        return False
    usable = as_utc(point.code_expires_at) > now and point.code_attempts < CODE_ATTEMPTS
    try:
        ok = usable and _HASHER.verify(point.code_hash, code)
    except (VerificationError, InvalidHashError):
        ok = False
    if ok:
        point.verified_at, point.code_hash, point.code_expires_at = now, None, None
    else:
        point.code_attempts += 1
    session.add(point)
    audit.record(session, action="contact.point_verified" if ok else "contact.point_code_failed", actor=SYSTEM,
                 object_type="person", object_id=str(point.person_id), after={"kind": point.kind,
                                                                            "address": point.address})
    return ok


def verified_address(session: Session, *, person_id: int, kind: str) -> str | None:
    """The person's verified address of ``kind`` (the latest added), or None."""
    point = session.exec(select(ContactPoint).where(ContactPoint.person_id == person_id, ContactPoint.kind == kind,
                                                    ContactPoint.verified_at != None)  # noqa: E711
                         .order_by(col(ContactPoint.id).desc())).first()
    return point.address if point else None


def person_by_phone(session: Session, phone: str) -> Person | None:
    """The active person whose verified phone number is ``phone``, or None."""
    try:
        cleaned = normalise(PHONE, phone)
    except ContactRefused:
        return None
    point = session.exec(select(ContactPoint).where(ContactPoint.kind == PHONE, ContactPoint.address == cleaned,
                                                    ContactPoint.verified_at != None)).first()  # noqa: E711
    person = session.get(Person, point.person_id) if point else None
    return person if person is not None and person.active else None
