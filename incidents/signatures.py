"""Electronic signatures (21 CFR 11.50, 11.70, 11.100, 11.200; EU GMP Annex 11 §14).

A signature shows the signer's printed name, the date and time and the meaning of signing
(11.50), and carries the reason given. It is bound to its record (11.70): the sha256 of the signed
content is written into a hash-chained audit row, so it cannot be excised, copied or moved to
another record without breaking the chain. The person was re-authenticated at that moment by the
edge (11.200(a)); this module only records what they signed.
"""

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, Session, SQLModel, col, select

from incidents import audit
from incidents.actors import Actor
from incidents.tables import AuditEvent


class Signature(SQLModel, table=True):
    """One signing: who (printed name), when, what it means, why, and the hash of what was signed."""

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    object_type: str  # step or action
    object_id: str
    person_id: int = Field(foreign_key="person.id")
    printed_name: str
    meaning_zh: str
    meaning_en: str
    reason: str = Field(sa_column=Column(Text, nullable=False))
    method: str  # password, password+totp, totp
    signed_at: datetime
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    content_sha256: str
    audit_event_id: int = Field(foreign_key="auditevent.id", unique=True)


def content_hash(content: dict[str, Any]) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces) of what is signed."""
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def record(session: Session, *, incident_id: int, object_type: str, object_id: str, actor: Actor,
           meaning: tuple[str, str], reason: str, record_content: dict[str, Any], method: str,
           now: datetime) -> Signature:
    """Write a signature and its audit row in the caller's transaction (the same one as the signed change).

    ``record_content`` is the record signed (the step and its answer, the action and its payload); the
    manifest adds who, when, the meaning and the reason, and its hash goes into the audit row.
    """
    if actor.person_id is None:
        raise ValueError("only a person can sign")
    if not reason.strip():
        raise ValueError("签名需要填写原因 / A signature needs a reason")
    content = {"record": record_content, "incident_id": incident_id, "object": f"{object_type}:{object_id}",
               "signer_person_id": actor.person_id, "printed_name": actor.name, "meaning_zh": meaning[0],
               "meaning_en": meaning[1], "reason": reason.strip(), "signed_at": now.isoformat(), "method": method}
    digest = content_hash(content)
    event = audit.record(session, action="signature.signed", actor=actor, incident_id=incident_id,
                         object_type=object_type, object_id=object_id, reason=reason.strip(), at=now,
                         after={"meaning_zh": meaning[0], "meaning_en": meaning[1], "printed_name": actor.name,
                                "signed_at": now.isoformat(), "method": method, "content_sha256": digest})
    assert event.id is not None
    row = Signature(incident_id=incident_id, object_type=object_type, object_id=object_id,
                    person_id=actor.person_id, printed_name=actor.name, meaning_zh=meaning[0], meaning_en=meaning[1],
                    reason=reason.strip(), method=method, signed_at=now, content=content, content_sha256=digest,
                    audit_event_id=event.id)
    session.add(row)
    session.flush()
    return row


def of_incident(session: Session, *, incident_id: int) -> list[Signature]:
    """An incident's signatures in the order they were made."""
    return list(session.exec(select(Signature).where(Signature.incident_id == incident_id)
                             .order_by(col(Signature.id))))


def bound(session: Session, signature: Signature) -> bool:
    """True when the signature still matches its audit row: the content hashes to what the chain holds."""
    event = session.get(AuditEvent, signature.audit_event_id)
    if event is None or event.action != "signature.signed" or event.incident_id != signature.incident_id:
        return False
    held = (event.after or {}).get("content_sha256")
    return held == signature.content_sha256 == content_hash(signature.content)
