"""One audit event per Alertmanager notification that still makes each of its alerts tamper-evident.

A notification applied to a group's incident (``incidents.group_intake``) is audited as one chained event,
``alert.group``, not one per alert: its ``after`` lists every alert it wrote as ``{"fingerprint", "status",
"sha256"}``, where ``status`` is the Alert row's ``kind`` (firing, resolved) and ``sha256`` the digest of the
row's stored content (``content_digest``: every column but its id and incident). The event is in the hash chain
(``incidents.audit``), so the digests cannot change unseen; ``verify_alerts`` checks each Alert row against them:
a row altered or removed after it was written leaves a listed digest that no row of the incident matches.
"""

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from incidents.tables import Alert, AuditEvent

ACTION = "alert.group"
CONTENT = ("fingerprint", "rule_id", "kind", "severity", "title_zh", "title_en", "site", "zone", "sensor", "metric",
           "value", "threshold", "source", "labels", "at")
"""The Alert row's columns a digest covers, in this order (all but ``id`` and ``incident_id``)."""


def _naive_utc(at: datetime) -> str:
    """``at`` as stored (SQLite keeps no zone): naive UTC, microseconds."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def content_digest(values: Mapping[str, Any]) -> str:
    """sha256 (hex) of an Alert row's content: the canonical JSON array of its ``CONTENT`` columns, given as a
    mapping (the values inserted, or a row read back: the same digest)."""
    body = [values[name] for name in CONTENT[:-1]]
    body.append(_naive_utc(values["at"]))
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def listed(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The ``alerts`` of a notification's event for the Alert rows ``rows`` (column values, in write order)."""
    return [{"fingerprint": row["fingerprint"], "status": row["kind"], "sha256": content_digest(row)} for row in rows]


@dataclass(frozen=True, slots=True)
class AlertMismatch:
    """An alert an ``alert.group`` event lists that no Alert row of its incident holds any more."""

    event_id: int
    incident_id: int | None
    fingerprint: str
    status: str

    def describe(self) -> str:
        return (f"audit event {self.event_id} (incident {self.incident_id}): alert {self.fingerprint} "
                f"({self.status}) was altered or removed after it was written")


def verify_alerts(session: Session, *, incident_id: int | None = None) -> list[AlertMismatch]:
    """Each alert listed by the ``alert.group`` events (of ``incident_id``, or of every incident) against the
    incident's Alert rows: one mismatch per listed digest that no row (each row counted once) holds. Rows no
    notification wrote (an incident's first alert, the alarm path's alerts) are not listed and not checked."""
    events = select(AuditEvent.id, AuditEvent.incident_id, AuditEvent.after).where(AuditEvent.action == ACTION)
    rows = select(Alert)
    if incident_id is not None:
        events = events.where(AuditEvent.incident_id == incident_id)
        rows = rows.where(Alert.incident_id == incident_id)
    held: dict[int, Counter[str]] = {}
    for alert in session.exec(rows.order_by(col(Alert.id)).execution_options(yield_per=1000)):
        held.setdefault(alert.incident_id, Counter())[content_digest(alert.model_dump())] += 1
    mismatches: list[AlertMismatch] = []
    for event_id, event_incident, after in session.exec(events.order_by(col(AuditEvent.id))):
        assert event_id is not None
        digests = held.get(event_incident or 0, Counter())
        for item in (after or {}).get("alerts", ()):
            if digests[item["sha256"]] > 0:
                digests[item["sha256"]] -= 1
            else:
                mismatches.append(AlertMismatch(event_id, event_incident, item["fingerprint"], item["status"]))
    return mismatches
