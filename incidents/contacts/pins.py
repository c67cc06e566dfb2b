"""The personal acknowledgement PIN: 4 to 8 digits, an argon2id hash, locked after repeated failures.

The lockout reuses the sign-in policy (``incidents.identity.passwords``: MAX_FAILURES wrong attempts in a row
lock for LOCKOUT; 21 CFR 11.300(d): attempts at unauthorised use are detected and reported, so every failure
is audited with the channel and the sender's number or address).
"""

import re
from datetime import datetime
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session

from incidents import audit
from incidents.actors import SYSTEM, Actor
from incidents.clock import as_utc
from incidents.contacts.tables import ContactProfile
from incidents.identity.passwords import LOCKOUT, MAX_FAILURES

PIN_PATTERN = re.compile(r"\d{4,8}")
_HASHER = PasswordHasher()


class PinRefused(ValueError):
    """A new PIN that is not 4 to 8 digits; the message is bilingual."""


class PinCheck(StrEnum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"
    NOT_SET = "not_set"


def profile(session: Session, person_id: int) -> ContactProfile:
    """The person's contact profile, created empty when there is none yet."""
    row = session.get(ContactProfile, person_id)
    if row is None:
        row = ContactProfile(person_id=person_id)
        session.add(row)
        session.flush()
    return row


def set_pin(session: Session, *, person_id: int, pin: str, by: Actor = SYSTEM) -> None:
    """Set (or reset, unlocking) the person's PIN; audited without the PIN. PinRefused unless 4–8 digits."""
    if not PIN_PATTERN.fullmatch(pin):
        raise PinRefused("PIN 需要 4 到 8 位数字 / A PIN is 4 to 8 digits")
    row = profile(session, person_id)
    row.pin_hash, row.pin_failures, row.pin_locked_until = _HASHER.hash(pin), 0, None
    session.add(row)
    audit.record(session, action="contact.pin_set", actor=by, object_type="person", object_id=str(person_id))


def check_pin(session: Session, *, person_id: int, pin: str, channel: str, sender: str, now: datetime,
              incident_id: int | None = None) -> PinCheck:
    """Whether ``pin`` is the person's PIN. A failure is counted and audited (``contact.pin_failed``); the
    MAX_FAILURES-th in a row locks the PIN for LOCKOUT (``contact.pin_locked``); a locked PIN is refused
    without being checked. Success clears the count."""
    row = profile(session, person_id)
    if row.pin_locked_until is not None and as_utc(row.pin_locked_until) > now:
        _refused(session, "contact.pin_refused_locked", person_id, channel, sender, incident_id)
        return PinCheck.LOCKED
    if row.pin_hash is None:
        _refused(session, "contact.pin_refused_not_set", person_id, channel, sender, incident_id)
        return PinCheck.NOT_SET
    try:
        ok = bool(PIN_PATTERN.fullmatch(pin)) and _HASHER.verify(row.pin_hash, pin)
    except (VerificationError, InvalidHashError):
        ok = False
    if ok:
        row.pin_failures, row.pin_locked_until = 0, None
        session.add(row)
        return PinCheck.OK
    row.pin_failures += 1
    locked = row.pin_failures >= MAX_FAILURES
    if locked:
        row.pin_locked_until, row.pin_failures = now + LOCKOUT, 0
    session.add(row)
    _refused(session, "contact.pin_failed", person_id, channel, sender, incident_id)
    if locked:
        _refused(session, "contact.pin_locked", person_id, channel, sender, incident_id)
        return PinCheck.LOCKED
    return PinCheck.WRONG


def _refused(session: Session, action: str, person_id: int, channel: str, sender: str,  # noqa: PLR0917
             incident_id: int | None) -> None:
    audit.record(session, action=action, actor=SYSTEM, incident_id=incident_id, object_type="person",
                 object_id=str(person_id), after={"channel": channel, "sender": sender})
