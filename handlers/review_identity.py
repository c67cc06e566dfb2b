"""The review's accountability section (issue 9): who acknowledged (with comment), every electronic
signature (printed name, time, meaning, reason, and whether it is still bound to its record, 21 CFR
11.50 and 11.70), every override of unfinished steps, and how many attempts were refused."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from incidents import signatures
from incidents.tables import AuditEvent


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    who: str
    at: datetime
    comment: str | None


@dataclass(frozen=True, slots=True)
class SignatureLine:
    printed_name: str
    signed_at: datetime
    meaning_zh: str
    meaning_en: str
    reason: str
    signed: str  # what was signed: the step's or the action's title
    method: str
    content_sha256: str
    bound: bool  # the record still hashes to what the audit chain holds


@dataclass(frozen=True, slots=True)
class OverrideLine:
    who: str
    at: datetime
    reason: str
    steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Accountability:
    acknowledgements: tuple[Acknowledgement, ...]
    signatures: tuple[SignatureLine, ...]
    overrides: tuple[OverrideLine, ...]
    refusals: int


def accountability(session: Session, *, incident_id: int) -> Accountability:
    """Everything the record says about who took responsibility for one incident."""
    events = list(session.exec(select(AuditEvent).where(AuditEvent.incident_id == incident_id,
                                                         col(AuditEvent.action).in_(["incident.acknowledge",
                                                                                     "incident.override"]))
                               .order_by(col(AuditEvent.id))))
    acks = tuple(Acknowledgement(e.actor_name, e.at, e.reason) for e in events if e.action == "incident.acknowledge")
    overrides = tuple(OverrideLine(e.actor_name, e.at, e.reason or "", tuple((e.after or {}).get("open_steps", [])))
                      for e in events if e.action == "incident.override")
    signed = []
    for row in signatures.of_incident(session, incident_id=incident_id):
        record = row.content.get("record", {})
        what = (f"{record.get('step_title_zh', '')} / {record.get('step_title_en', '')}" if row.object_type == "step"
                else f"{record.get('kind', row.object_type)} {record.get('spec', {}).get('topic', '')}".strip())
        signed.append(SignatureLine(row.printed_name, row.signed_at, row.meaning_zh, row.meaning_en, row.reason, what,
                                    row.method, row.content_sha256, signatures.bound(session, row)))
    refusals = session.exec(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.incident_id == incident_id,
        col(AuditEvent.action).in_(["access.refused", "incident.refused", "step.refused", "signature.refused"]))).one()
    return Accountability(acks, tuple(signed), overrides, int(refusals))
