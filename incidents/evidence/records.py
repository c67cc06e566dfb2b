"""Which incident step each stored picture is evidence of, written with the step in one transaction."""

from datetime import datetime

from sqlmodel import Field, Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from incidents import audit
from incidents.actors import Actor
from incidents.evidence.images import CheckedImage


class EvidenceFile(SQLModel, table=True):
    """One picture attached to one step of one incident; the bytes live in the evidence store by ``sha256``."""

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(index=True, max_length=64)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    step_id: str
    media_type: str
    size_bytes: int
    width: int
    height: int
    location_removed: bool = False
    used: bool = False  # part of a done step's answer; False: kept while the step waits for more pictures
    platform: str
    actor_person_id: int | None = Field(default=None, foreign_key="person.id")
    stored_at: datetime


def answer_ref(sha256: str) -> str:
    """How a picture stands in a step's answer and audit row: ``sha256:<hex>``."""
    return f"sha256:{sha256}"


def record(session: Session, image: CheckedImage, *, incident_id: int, step_id: str, actor: Actor,
           now: datetime, used: bool) -> EvidenceFile:
    """Link a stored picture to a step and audit it (``evidence.stored``, with its sha256), in the caller's
    transaction."""
    row = EvidenceFile(sha256=image.sha256, incident_id=incident_id, step_id=step_id, media_type=image.media_type,
                       size_bytes=len(image.data), width=image.width, height=image.height,
                       location_removed=image.location_removed, used=used, platform=actor.platform or "-",
                       actor_person_id=actor.person_id, stored_at=now)
    session.add(row)
    audit.record(session, action="evidence.stored", actor=actor, incident_id=incident_id, object_type="step",
                 object_id=step_id, after={"sha256": image.sha256, "media_type": image.media_type,
                                           "bytes": len(image.data), "width": image.width, "height": image.height,
                                           "location_removed": image.location_removed}, at=now)
    return row


def waiting(session: Session, incident_id: int, step_id: str) -> list[EvidenceFile]:
    """Pictures kept for a step that still waits for more (its ``min_count``), in the order they came."""
    return list(session.exec(select(EvidenceFile).where(
        EvidenceFile.incident_id == incident_id, EvidenceFile.step_id == step_id,
        col(EvidenceFile.used).is_(False)).order_by(col(EvidenceFile.id))))


def mark_used(session: Session, incident_id: int, step_id: str) -> None:
    """The step is done: its waiting pictures are part of its answer now."""
    for row in waiting(session, incident_id, step_id):
        row.used = True
        session.add(row)


def of_incident(session: Session, incident_id: int) -> list[EvidenceFile]:
    """An incident's pictures in the order they were stored."""
    return list(session.exec(select(EvidenceFile).where(EvidenceFile.incident_id == incident_id)
                             .order_by(col(EvidenceFile.id))))


def incidents_of(session: Session, sha256: str) -> list[int]:
    """The incidents a picture is evidence in (empty: none, so nobody is shown it)."""
    return sorted(set(session.exec(select(EvidenceFile.incident_id).where(EvidenceFile.sha256 == sha256))))


def media_type_of(sha256: str) -> SelectOfScalar[str]:
    """The query of a stored picture's media type."""
    return select(EvidenceFile.media_type).where(EvidenceFile.sha256 == sha256).limit(1)
