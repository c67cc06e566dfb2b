"""Passwords (argon2id), TOTP second factors (RFC 6238) and the lockout after failed sign-ins.

Limits: at most ``MAX_FAILURES`` wrong attempts in a row, then the account is locked for
``LOCKOUT`` (NIST SP 800-63B §5.2.2 asks for a limit of 100 or fewer; 21 CFR 11.300(d) asks that
attempts at unauthorised use are detected and reported: every failure is audited).
"""

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from incidents import audit
from incidents.actors import Actor
from incidents.clock import as_utc
from incidents.directory import actor_for
from incidents.identity.tables import Credential
from incidents.tables import Person

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10  # NIST SP 800-63B §5.1.1.2 asks for at least 8
TOTP_ISSUER = "WareRoom"
_HASHER = PasswordHasher()  # argon2id with the library's (RFC 9106 "low memory") parameters
_DUMMY = _HASHER.hash("wareroom: a hash to spend the same time on for unknown users")


class PasswordRefused(ValueError):
    """A new password that does not meet the policy; the message is bilingual."""


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (PasswordRefused when shorter than MIN_PASSWORD_LENGTH)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRefused(f"密码至少 {MIN_PASSWORD_LENGTH} 个字符 / A password needs at least "
                              f"{MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def _password_matches(stored: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def credential(session: Session, person_id: int) -> Credential:
    """The person's credential row, created empty when there is none yet."""
    row = session.get(Credential, person_id)
    if row is None:
        row = Credential(person_id=person_id)
        session.add(row)
        session.flush()
    return row


def set_password(session: Session, *, person_id: int, password: str, by: Actor, now: datetime) -> None:
    """Set or change a person's password; audited (without the password, of course)."""
    row = credential(session, person_id)
    had = row.password_hash is not None
    row.password_hash, row.password_set_at = hash_password(password), now
    row.failed_attempts, row.locked_until = 0, None
    session.add(row)
    audit.record(session, action="auth.password_set", actor=by, object_type="person", object_id=str(person_id),
                 before={"password": "set" if had else None}, after={"password": "set"}, at=now)


def new_totp_secret() -> str:
    """A fresh base32 TOTP secret (160 bits, RFC 4226 §4)."""
    return pyotp.random_base32(32)


def totp_uri(secret: str, *, account: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (from a QR code or typed)."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=TOTP_ISSUER)


def _totp_counter(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is (one step of clock drift either way), or None."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for counter in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(counter), code.strip()):
            return counter
    return None


def enable_totp(session: Session, *, person_id: int, secret: str, code: str, by: Actor, now: datetime) -> bool:
    """Turn TOTP on once the person proves a code from the new secret; audited. False if the code is wrong."""
    if _totp_counter(secret, code, now) is None:
        return False
    row = credential(session, person_id)
    row.totp_secret = secret
    session.add(row)
    audit.record(session, action="auth.totp_enabled", actor=by, object_type="person", object_id=str(person_id),
                 after={"totp": "on"}, at=now)
    return True


def disable_totp(session: Session, *, person_id: int, by: Actor, now: datetime) -> None:
    """Turn TOTP off (an admin does this for a person who lost their device); audited."""
    row = credential(session, person_id)
    row.totp_secret = None
    session.add(row)
    audit.record(session, action="auth.totp_disabled", actor=by, object_type="person", object_id=str(person_id),
                 before={"totp": "on"}, after={"totp": "off"}, at=now)


@dataclass(frozen=True, slots=True)
class Check:
    """Outcome of checking credentials: the person, or why not (for the audit row only, never for the
    screen: the screen says the same thing whatever the reason)."""

    person: Person | None
    reason: str = ""
    needs_totp: bool = False

    @property
    def ok(self) -> bool:
        return self.person is not None


def check_person(session: Session, person: Person, *, password: str | None, totp_code: str | None,
                 now: datetime) -> Check:
    """Check a known person's password and (when enrolled) TOTP code, counting failures toward the lockout.

    A person with neither a password nor TOTP (single sign-on only) cannot be checked: refused.
    """
    assert person.id is not None
    row = credential(session, person.id)
    if row.locked_until is not None and as_utc(row.locked_until) > now:
        _password_matches(None, password or "")  # the same time as a real check: no hint that it is locked
        return Check(None, "account locked")
    if not person.active:
        return Check(None, "person deactivated")
    if row.password_hash is None and row.totp_secret is None:
        return Check(None, "no password or TOTP set (single sign-on only)")
    if row.password_hash is not None and not _password_matches(row.password_hash, password or ""):
        return _failed(session, row, now, "wrong password")
    if row.totp_secret is not None:
        if not totp_code:
            return Check(None, "TOTP code missing", needs_totp=True)
        if _totp_counter(row.totp_secret, totp_code, now) is None:
            return _failed(session, row, now, "wrong TOTP code")
    row.failed_attempts, row.locked_until = 0, None
    session.add(row)
    return Check(person)


def _failed(session: Session, row: Credential, now: datetime, reason: str) -> Check:
    row.failed_attempts += 1
    if row.failed_attempts >= MAX_FAILURES:
        row.locked_until, row.failed_attempts = now + LOCKOUT, 0
        reason += f"; locked for {int(LOCKOUT.total_seconds() // 60)} min after {MAX_FAILURES} failures"
    session.add(row)
    return Check(None, reason)


def sign_in(session: Session, *, login: str, password: str, totp_code: str | None, now: datetime,
            client: str) -> Check:
    """Check a sign-in by login and password (and TOTP); every failure is audited as ``auth.signin_failed``."""
    person = session.exec(select(Person).where(Person.login == login.strip().lower())).first()
    if person is None:
        _password_matches(None, password)  # spend the same time as for a real person
        result = Check(None, "unknown login")
    else:
        result = check_person(session, person, password=password, totp_code=totp_code, now=now)
    if not result.ok and not result.needs_totp:
        who = actor_for(person, platform="web") if person is not None else \
            Actor(person_id=None, name="unknown", platform="web")
        audit.record(session, action="auth.signin_failed", actor=who, object_type="person",
                     object_id=str(person.id) if person is not None else None,
                     after={"login": login[:64], "client": client[:200]}, reason=result.reason, at=now)
    return result


def has_totp(session: Session, person_id: int) -> bool:
    """True when the person signs in with a TOTP code as well."""
    row = session.get(Credential, person_id)
    return row is not None and row.totp_secret is not None


def has_password(session: Session, person_id: int) -> bool:
    """True when the person has a password set."""
    row = session.get(Credential, person_id)
    return row is not None and row.password_hash is not None
