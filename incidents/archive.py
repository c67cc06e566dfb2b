"""What an archive of incidents holds, and how its audit rows are checked without the database.

Incidents, alerts, step runs, actions and the audit trail are never pruned; before a copy goes to
cold storage it is exported with its audit rows (``integrations.export.archive`` writes and signs
the files). The audit rows of a set of incidents are interleaved with other rows in the chain, so
the export carries every row from the set's first to its last: the set's rows in full, the others
as links only (``id``, ``prev_hash``, ``hash``). A reader can then recompute the hash of every full
row and follow the links from the first row to the last without seeing other incidents' content.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from incidents.audit import ChainReport, row_hash
from incidents.lifecycle import Status
from incidents.tables import ActionRun, Alert, AuditEvent, Incident, StepRun

LINK_FIELDS = ("id", "prev_hash", "hash")


@dataclass(frozen=True, slots=True)
class ArchiveContent:
    """The rows of an archive, as JSON-ready dictionaries; ``chain_head`` is the newest hash at export."""

    incidents: list[dict[str, Any]]
    audit: list[dict[str, Any]]
    chain_head: str | None


def closed_before(session: Session, before: datetime) -> list[int]:
    """Ids of the incidents closed before ``before``, oldest first."""
    query = select(Incident.id).where(Incident.status == Status.CLOSED.value, col(Incident.closed_at) < before)
    return [i for i in session.exec(query.order_by(col(Incident.id))) if i is not None]


def collect(session: Session, incident_ids: Sequence[int]) -> ArchiveContent:
    """The incidents with their alerts, step runs and actions, and the audit rows that cover them."""
    wanted = sorted(set(incident_ids))
    incidents = []
    for incident in session.exec(select(Incident).where(col(Incident.id).in_(wanted)).order_by(col(Incident.id))):
        children = {name: [row.model_dump(mode="json") for row in session.exec(
            select(model).where(model.incident_id == incident.id).order_by(col(model.id)))]
            for name, model in (("alerts", Alert), ("steps", StepRun), ("actions", ActionRun))}
        incidents.append({**incident.model_dump(mode="json"), **children})
    found = {row["id"] for row in incidents}
    span = session.exec(select(AuditEvent.id).where(col(AuditEvent.incident_id).in_(found))).all()
    audit: list[dict[str, Any]] = []
    if span:
        rows = session.exec(select(AuditEvent).where(col(AuditEvent.id) >= min(i for i in span if i is not None),
                                                     col(AuditEvent.id) <= max(i for i in span if i is not None))
                            .order_by(col(AuditEvent.id)))
        audit = [row.model_dump(mode="json") if row.incident_id in found
                 else {name: getattr(row, name) for name in LINK_FIELDS} for row in rows]
    head = session.exec(select(AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    return ArchiveContent(incidents=incidents, audit=audit, chain_head=head)


def verify_exported_audit(rows: Iterable[dict[str, Any]]) -> ChainReport:
    """Recompute each full row's hash and follow every link; names the first row that does not hold."""
    checked = 0
    previous: str | None = None
    for row in rows:
        row_id = int(row["id"])
        if previous is not None and row["prev_hash"] != previous:
            return ChainReport(checked, False, row_id, f"row {row_id}: its prev_hash does not match the row before it")
        if set(row) != set(LINK_FIELDS):
            event = AuditEvent(**{**row, "at": datetime.fromisoformat(row["at"])})
            if row_hash(row["prev_hash"], event) != row["hash"]:
                return ChainReport(checked, False, row_id, f"row {row_id}: its content was altered after writing")
        previous = row["hash"]
        checked += 1
    return ChainReport(checked, True)
