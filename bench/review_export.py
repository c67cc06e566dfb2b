"""Review export time for an incident with 10,000 timeline events and a week of one-minute readings.

Run: ``.venv/bin/python -m bench.review_export``. Goals: HTML in < 3 s; the PDF (PDF/A-2b, sealed) with the
whole timeline printed in < 2 s. Each format's time includes building the review from the database. For the
PDF it also prints the CPU time (less disturbed by other jobs on the machine), the time of the rendering
alone (``pdf_render_seconds``, the review already built), its pages, and how many of
the events' times ``pdftotext`` (poppler) finds in it: every event printed means ``pdf_timeline_events_printed``
equals ``timeline_events``. WeasyPrint is imported before the clock starts (a server imports it once; the
import is printed on its own).
"""

import subprocess
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
from integrations.export.formatting import local_seconds
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
        start = time.perf_counter()
        import weasyprint  # noqa: F401
        report("weasyprint_import_seconds", f"{time.perf_counter() - start:.2f}")
        for fmt in (ReviewFormat.HTML, ReviewFormat.MD, ReviewFormat.JSON, ReviewFormat.CSV, ReviewFormat.PDF):
            start, cpu = time.perf_counter(), time.process_time()
            with database.reader() as session:
                review = build_review(session, incident_id=incident_id, setup=setup, now=now)
            built = time.perf_counter()
            body = render(review, fmt, seal=seal)
            report(f"{fmt.value}_seconds", f"{time.perf_counter() - start:.2f}")
            if fmt is ReviewFormat.PDF:
                report("pdf_render_seconds", f"{time.perf_counter() - built:.2f}")
                report("pdf_cpu_seconds", f"{time.process_time() - cpu:.2f}")
            report(f"{fmt.value}_bytes", len(body))
        times = {local_seconds(entry.at, review.timezone) for entry in review.timeline}
        text = _pdf_text(body, Path(tmp))
        report("pdf_pages", text.count("\f"))
        report("pdf_timeline_events_printed", sum(moment in text for moment in times))
        database.dispose()


def _pdf_text(pdf: bytes, folder: Path) -> str:
    """The PDF's text as ``pdftotext`` extracts it, pages separated by form feeds."""
    (folder / "review.pdf").write_bytes(pdf)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(folder / "review.pdf"), "-"], check=True,
                          capture_output=True, text=True).stdout


if __name__ == "__main__":
    main()
