"""Review export time for an incident with 10,000 timeline events and a week of one-minute readings.

Run: ``.venv/bin/python -m bench.review_export``. Goal: HTML in < 3 s; the PDF (PDF/A-2b, sealed) time is
printed too.
"""

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import report
from bot import db
from handlers.review import ReviewSetup, build_review
from incidents import audit
from incidents.actors import SYSTEM
from incidents.database import Database
from incidents.inventory.samples import record_samples
from incidents.readings import Reading
from incidents.rules.config import load_registry
from incidents.tables import Alert, Incident
from integrations.export.formats import ReviewFormat
from integrations.export.render import render
from integrations.export.seal import load_seal
from tests.factories import LIBRARY, ROOT

EVENTS = 10_000
WEEK_MINUTES = 7 * 24 * 60
START = datetime(2026, 11, 18, 0, 0, tzinfo=UTC)


def _fill(database: Database) -> int:
    opened = START + timedelta(days=6)
    with database.unit_of_work() as session:
        incident = Incident(title_zh="冷库 D1 温度过高", title_en="Cold room D1 temperature high", severity="SEV2",
                            status="resolved", dedup_key="SH-01/D1/temperature", site="SH-01", zone="D1",
                            opened_at=opened, acknowledged_at=opened + timedelta(minutes=4),
                            resolved_at=opened + timedelta(hours=20))
        session.add(incident)
        session.flush()
        assert incident.id is not None
        session.add(Alert(incident_id=incident.id, fingerprint="f", rule_id="cold-room-high-temp", kind="firing",
                          severity="SEV2", title_zh="t", title_en="t", sensor="d1-probe-1", metric="temperature",
                          value=8.6, threshold=8.0, at=opened))
        record_samples(session, (Reading(sensor="d1-probe-1", metric="temperature", value=5.0 + (m % 97) / 40,
                                         ts=START + timedelta(minutes=m)) for m in range(WEEK_MINUTES)))
        for n in range(EVENTS):
            audit.record(session, action="alert.joined", actor=SYSTEM, incident_id=incident.id,
                         at=opened + timedelta(seconds=7 * n), after={"rule": "cold-room-high-temp", "value": 8.1})
        return incident.id


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'review.db'}"
        db.upgrade(url)
        database = Database(url)
        incident_id = _fill(database)
        now = START + timedelta(days=7)
        setup = ReviewSetup(library=LIBRARY, timezone="Asia/Shanghai",
                            registry=load_registry(ROOT / "config" / "devices.yaml"))
        seal = load_seal(p12=None, password=None, var_dir=Path(tmp), site="SH-01")
        report("timeline_events", EVENTS)
        report("readings", WEEK_MINUTES)
        for fmt in (ReviewFormat.HTML, ReviewFormat.MD, ReviewFormat.JSON, ReviewFormat.CSV, ReviewFormat.PDF):
            start = time.perf_counter()
            with database.reader() as session:
                review = build_review(session, incident_id=incident_id, setup=setup, now=now)
            body = render(review, fmt, seal=seal)
            report(f"{fmt.value}_seconds", f"{time.perf_counter() - start:.2f}")
            report(f"{fmt.value}_bytes", len(body))
        database.dispose()


if __name__ == "__main__":
    main()
