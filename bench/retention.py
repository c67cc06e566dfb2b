"""Retention on a database full of readings: size before and after, and how long a prune takes.

Run: ``.venv/bin/python -m bench.retention [--backend postgres|sqlite] [--sensors 5000] [--days 2]``.
Fills ``sensorsample`` with one reading a minute per sensor (what the intake keeps) for ``--days``
days (COPY on PostgreSQL, executemany on SQLite), with a few incidents whose readings must stay,
then applies the default policy with readings older than one day thinned, so that one run thins
one day of readings: the work of a nightly run at this many sensors. Prints the figures measured,
then a month's worth extrapolated from them (labelled ``_extrapolated``): a month at 5,000 sensors
is 216 million readings, more than this machine holds in the time a benchmark should take.
"""

import argparse
import io
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.common import report
from bot import db
from incidents import retention
from incidents.database import Database
from incidents.inventory.tables import SensorSample
from incidents.tables import Alert, Incident
from tests.conftest import PG_SERVER

NOW = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
INCIDENTS = 50
MONTH_DAYS = 30


def _rows(sensors: int, days: int) -> Iterator[tuple[str, datetime, bool]]:
    start = NOW - timedelta(days=days)
    live = {f"probe-{n * (sensors // INCIDENTS)}" for n in range(INCIDENTS)}
    for minute in range(days * 24 * 60):
        at = start + timedelta(minutes=minute)
        hot = 600 <= minute % 1440 < 620  # the incident sensors' alerts were live 20 minutes a day
        for n in range(sensors):
            sensor = f"probe-{n}"
            yield sensor, at, hot and sensor in live


def _fill_postgres(database: Database, sensors: int, days: int) -> None:
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        copying = cursor.copy("COPY sensorsample (sensor, metric, value, at, alert_live) FROM STDIN")
        with copying as copy:
            block = io.StringIO()
            for count, (sensor, at, live) in enumerate(_rows(sensors, days), start=1):
                value = 4.0 + count % 7 * 0.1
                block.write(f"{sensor}\ttemperature\t{value:.1f}\t{at.isoformat()}\t{'t' if live else 'f'}\n")
                if count % 200_000 == 0:
                    copy.write(block.getvalue())
                    block = io.StringIO()
            copy.write(block.getvalue())
        raw.commit()
    finally:
        raw.close()


def _fill_sqlite(database: Database, sensors: int, days: int) -> None:
    insert = sa.insert(SensorSample)
    batch: list[dict[str, object]] = []
    for count, (sensor, at, live) in enumerate(_rows(sensors, days), start=1):
        batch.append({"sensor": sensor, "metric": "temperature", "value": 4.0 + count % 7 * 0.1, "at": at,
                      "alert_live": live})
        if len(batch) == 100_000:
            with database.unit_of_work() as session:
                session.execute(insert, batch)
            batch = []
    with database.unit_of_work() as session:
        session.execute(insert, batch)


def _incidents(database: Database, sensors: int, days: int) -> None:
    """One incident a sensor for ``INCIDENTS`` sensors, spread over the days: their readings must stay."""
    with database.unit_of_work() as session:
        for n in range(INCIDENTS):
            opened = NOW - timedelta(days=days) + timedelta(hours=n * days * 24 / INCIDENTS)
            incident = Incident(title_zh="t", title_en="t", severity="SEV2", status="closed", dedup_key=f"k{n}",
                                opened_at=opened, resolved_at=opened + timedelta(hours=2))
            session.add(incident)
            session.flush()
            assert incident.id is not None
            session.add(Alert(incident_id=incident.id, fingerprint=f"f{n}", rule_id="r", kind="firing",
                              severity="SEV2", title_zh="t", title_en="t", metric="temperature", at=opened,
                              sensor=f"probe-{n * (sensors // INCIDENTS)}"))


def _size(database: Database, path: Path | None) -> int:
    if path is not None:
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    with database.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_total_relation_size('sensorsample')")).scalar_one())


def _count(database: Database) -> int:
    with database.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM sensorsample")).scalar_one())


def _compact(database: Database, path: Path | None) -> None:
    if path is not None:
        with sqlite3.connect(path) as conn:  # outside SQLAlchemy: our SQLite engine always opens a transaction
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # VACUUM in WAL mode leaves the copy in the WAL
        return
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM FULL sensorsample"))


def bench(backend: str, sensors: int, days: int, server: str) -> None:
    schema = f"bench_retention_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "wareroom.db" if backend == "sqlite" else None
        admin = sa.create_engine(server)
        if path is None:
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = f"sqlite:///{path}" if path is not None else f"{server}?options=-csearch_path%3D{schema}"
        try:
            db.upgrade(url)
            database = Database(url)
            started = time.perf_counter()
            (_fill_sqlite if path is not None else _fill_postgres)(database, sensors, days)
            _incidents(database, sensors, days)
            if path is None:
                with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(sa.text("VACUUM ANALYZE sensorsample"))
            rows_before = _count(database)
            report(f"retention_{backend}_readings", f"{rows_before:,} ({sensors:,} sensors x {days} days at 1/min)")
            report(f"retention_{backend}_fill_s", round(time.perf_counter() - started, 1))
            size_before = _size(database, path)
            report(f"retention_{backend}_size_before_mb", round(size_before / 1e6, 1))
            policy = retention.RetentionPolicy(samples_full=timedelta(days=days - 1))
            started = time.perf_counter()
            planned = {o.table: o.rows for o in retention.run(database, policy, now=NOW, apply=False)}
            report(f"retention_{backend}_dry_run_s", round(time.perf_counter() - started, 1))
            started = time.perf_counter()
            applied = {o.table: o.rows for o in retention.run(database, policy, now=NOW, apply=True)}
            prune_s = time.perf_counter() - started
            assert applied == planned, (applied, planned)
            rows_after = _count(database)
            report(f"retention_{backend}_prune_one_day_s", round(prune_s, 1))
            report(f"retention_{backend}_readings_removed", f"{applied['sensorsample']:,} "
                                                             f"({applied['sensorsample'] / prune_s:,.0f}/s)")
            report(f"retention_{backend}_readings_after", f"{rows_after:,}")
            report(f"retention_{backend}_size_after_prune_mb", round(_size(database, path) / 1e6, 1))
            started = time.perf_counter()
            _compact(database, path)
            report(f"retention_{backend}_size_after_compaction_mb", round(_size(database, path) / 1e6, 1))
            report(f"retention_{backend}_compaction_s", round(time.perf_counter() - started, 1))
            per_row = size_before / rows_before
            month = sensors * MONTH_DAYS * 1440
            kept = sensors * (7 * 1440 + (MONTH_DAYS - 7) * 48)  # default policy: 7 days in full, then 1 per 30 min
            report(f"retention_{backend}_month_size_before_mb_extrapolated", round(month * per_row / 1e6))
            report(f"retention_{backend}_month_size_after_mb_extrapolated", round(kept * per_row / 1e6))
            report(f"retention_{backend}_month_first_prune_s_extrapolated",
                   round(prune_s / applied["sensorsample"] * (month - kept)))
            database.dispose()
        finally:
            if path is None:
                with admin.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--sensors", type=int, default=5000)
    parser.add_argument("--days", type=int, default=2, help="at least 2: one day is thinned, the last is kept")
    parser.add_argument("--server", default=PG_SERVER)
    args = parser.parse_args()
    bench(args.backend, args.sensors, max(2, args.days), args.server)


if __name__ == "__main__":
    main()
