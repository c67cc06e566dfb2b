"""The review's photo evidence: every picture attached to a step, with its sha256, who sent it and when.

The bytes are not here: ``integrations.export`` fetches them from the evidence store by hash, checks the
hash again and embeds them, so the printed review shows the picture the audit row names.
"""

from sqlmodel import Session

from handlers.review_model import Bi, EvidenceLine
from incidents import directory
from incidents.evidence import records
from playbooks.loader import LoadedPlaybook


def evidence_of(session: Session, *, incident_id: int, loaded: LoadedPlaybook | None) -> tuple[EvidenceLine, ...]:
    """The incident's pictures in the order they were stored."""
    rows = records.of_incident(session, incident_id)
    names = directory.names(session, [r.actor_person_id for r in rows if r.actor_person_id is not None])
    lines = []
    for row in rows:
        step = next((s for s in loaded.playbook.all_steps() if s.id == row.step_id), None) if loaded else None
        lines.append(EvidenceLine(
            step_id=row.step_id, step_title=Bi(step.title.zh, step.title.en) if step else Bi.same(row.step_id),
            sha256=row.sha256, media_type=row.media_type, width=row.width, height=row.height,
            size_bytes=row.size_bytes, by=names.get(row.actor_person_id) if row.actor_person_id else None,
            platform=row.platform, at=row.stored_at, location_removed=row.location_removed))
    return tuple(lines)

