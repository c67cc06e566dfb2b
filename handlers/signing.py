"""Re-authentication at the moment of signing (21 CFR 11.200(a)(1): every signing outside one
continuous session uses all components; we ask for them at every signing)."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from handlers.text import say
from incidents.actors import Actor
from incidents.identity import passwords
from incidents.tables import Person


@dataclass(frozen=True, slots=True)
class Signing:
    """What a person typed on the signing page: the credentials to re-check now, and the reason."""

    password: str
    totp_code: str
    reason: str


@dataclass(frozen=True, slots=True)
class SigningView:
    """What a signing page shows: the record, the meaning, and the answer to give (if any)."""

    record: str
    meaning: str
    input_label: str | None = None
    options: tuple[tuple[str, str], ...] = ()


def reauthenticate(session: Session, actor: Actor, signing: Signing, *, now: datetime) -> str | None:
    """None when the signer's password (and TOTP code, where enrolled) check out now; else why not, in
    words for the signer. A failure counts toward the account's lockout like a failed sign-in."""
    person = session.get(Person, actor.person_id) if actor.person_id is not None else None
    if person is None or person.id is None:
        return say("signature_refused")
    if not passwords.has_password(session, person.id) and not passwords.has_totp(session, person.id):
        return say("signature_no_credential")
    check = passwords.check_person(session, person, password=signing.password, totp_code=signing.totp_code or None,
                                   now=now)
    return None if check.ok else say("signature_refused")


def signing_method(session: Session, actor: Actor) -> str:
    """How the signer re-authenticated: ``password``, ``password+totp`` or ``totp``."""
    assert actor.person_id is not None
    parts = [name for name, held in (("password", passwords.has_password(session, actor.person_id)),
                                     ("totp", passwords.has_totp(session, actor.person_id))) if held]
    return "+".join(parts)
