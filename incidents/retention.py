"""Retention: what is thinned or deleted after how long, and what is never touched.

- ``sensorsample``: readings older than 7 days are thinned to the first reading of each
  clock-aligned 30-minute bucket per sensor and metric. Kept whatever their age: every reading
  marked ``alert_live`` (GSP 附录 温湿度自动监测: every 2 min while out of range), and every reading
  of an incident's sensors from 1 h before it opened to 30 min after it was resolved (the
  review's chart). GSP asks for records at least every 30 min in storage.
- ``deadletter``: deleted after 30 days (kept for someone to inspect, not a record).
- ``outboxmessage``: delivered header updates, edits and one-off posts deleted after 30 days (never
  referred to again); opened threads and editable cards stay.
- ``processedevent``: inbound event ids deleted after 30 days (platforms retry within hours;
  Telegram keeps undelivered updates 24 h).
- ``incident``, ``alert``, ``steprun``, ``auditevent`` and every other table: never (the record,
  21 CFR 11.10(e), GSP); ``wareroom retention archive`` exports and signs them for cold storage.

Thinned readings are real readings, never averages: a record is not altered, only fewer are kept.
Work goes in short transactions (one hour of readings, or 10,000 rows, at a time), so a run never
holds locks for long and can stop anywhere; each is fenced when it runs under the scheduler lease.
A mark remembers up to where readings were thinned, so a nightly run reads one new day only.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, ColumnElement, Integer, Table, cast, delete, false, func, or_, select, text
from sqlmodel import Field, Session, SQLModel, col

from incidents import outbox
from incidents.clock import utcnow
from incidents.database import Database
from incidents.inventory.tables import SensorSample
from incidents.tables import Alert, DeadLetter, Incident, OutboxMessage, ProcessedEvent

log = logging.getLogger(__name__)

KEPT_FOREVER = ("incident", "alert", "steprun", "auditevent")
# Readings of an incident's sensors kept in full: the review charts from 1 h before the incident
# opened to 30 min after it was resolved (handlers.review CHART_BEFORE / CHART_AFTER).
AROUND_INCIDENT_BEFORE = timedelta(hours=1)
AROUND_INCIDENT_AFTER = timedelta(minutes=30)
SAMPLES_MARK = "sensorsample"
_BATCH = 10_000
_RUN_LOCK_KEY = 7_202_613  # pg_try_advisory_lock: one applying run at a time


class RetentionMark(SQLModel, table=True):
    """How far a thinning pass got: readings before ``done_until`` were thinned already."""

    name: str = Field(primary_key=True, max_length=100)
    done_until: datetime


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long each kind of row is kept in full; every period must be positive."""

    samples_full: timedelta = timedelta(days=7)
    samples_every: timedelta = timedelta(minutes=30)
    dead_letters: timedelta = timedelta(days=30)
    delivered_outbox: timedelta = timedelta(days=30)
    inbound_events: timedelta = timedelta(days=30)

    def __post_init__(self) -> None:
        for name in ("samples_full", "samples_every", "dead_letters", "delivered_outbox", "inbound_events"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"retention period {name} must be positive, got {getattr(self, name)}")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One table's share of a run: ``rows`` removed (or, in a dry run, that would be)."""

    table: str
    rule: str
    rows: int


class RetentionBusy(RuntimeError):
    """Another retention run (the nightly job, or a person at the command line) is going on now."""

    def __init__(self) -> None:
        super().__init__("另一次数据保留清理正在进行，请稍后再试 / Another retention run is going on; try again later")


@contextmanager
def _one_run_at_a_time(db: Database) -> Iterator[None]:
    """Two runs would delete the same rows in different orders (and may deadlock): let one run at a time."""
    if not db.is_postgres:
        yield  # SQLite's write lock already serialises every transaction
        return
    with db.engine.connect() as conn:
        taken = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": _RUN_LOCK_KEY}).scalar()
        conn.commit()
        if not taken:
            raise RetentionBusy
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _RUN_LOCK_KEY})
            conn.commit()


def run(db: Database, policy: RetentionPolicy, *, now: datetime, apply: bool) -> list[Outcome]:
    """Count (``apply=False``) or remove what the policy lets go, table by table; RetentionBusy if another
    run applies right now."""
    if not apply:
        return _outcomes(db, policy, now=now, apply=False)
    with _one_run_at_a_time(db):
        return _outcomes(db, policy, now=now, apply=True)


def _outcomes(db: Database, policy: RetentionPolicy, *, now: datetime, apply: bool) -> list[Outcome]:
    return [
        Outcome("sensorsample", f"thin to one reading per {_minutes(policy.samples_every)} min after "
                f"{policy.samples_full.days} days (alert and incident readings kept)",
                _thin_samples(db, policy, now=now, apply=apply)),
        Outcome("deadletter", f"delete after {policy.dead_letters.days} days",
                _prune(db, _table(DeadLetter).c.id, col(DeadLetter.received_at) < now - policy.dead_letters,
                       apply=apply)),
        Outcome("outboxmessage", f"delete delivered one-off messages after {policy.delivered_outbox.days} days",
                _prune(db, _table(OutboxMessage).c.id,
                       outbox.delivered_one_off(sent_before=now - policy.delivered_outbox), apply=apply)),
        Outcome("processedevent", f"delete inbound event ids after {policy.inbound_events.days} days",
                _prune(db, _table(ProcessedEvent).c.dedupe_key,
                       col(ProcessedEvent.received_at) < now - policy.inbound_events, apply=apply)),
    ]


def nightly(db: Database, policy: RetentionPolicy) -> list[Outcome]:
    """The scheduler's nightly run: apply the policy now and log what went."""
    try:
        outcomes = run(db, policy, now=utcnow(), apply=True)
    except RetentionBusy:
        log.warning("retention: another run is going on (someone at the command line?); skipped tonight")
        return []
    log.info("retention: %s", ", ".join(f"{o.table} -{o.rows}" for o in outcomes))
    return outcomes


def _table(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def _minutes(period: timedelta) -> int:
    return int(period.total_seconds() // 60)


def _prune(db: Database, key: Column[Any], condition: ColumnElement[bool], *, apply: bool) -> int:
    table = key.table
    if not apply:
        with db.reader() as session:
            return int(session.execute(select(func.count()).select_from(table).where(condition)).scalar_one())
    removed = 0
    while True:
        with db.unit_of_work() as session:
            batch = select(key).where(condition).limit(_BATCH).scalar_subquery()
            done: int = session.execute(delete(table).where(key.in_(batch))).rowcount  # type: ignore[attr-defined]
        removed += done
        if done < _BATCH:
            return removed


# -- readings ------------------------------------------------------------------------------------

_SAMPLES = _table(SensorSample)
_S = _SAMPLES.c


def _bucket(dialect: str, every_s: int) -> ColumnElement[Any]:
    """The clock-aligned bucket of a reading: whole ``every_s`` periods since the Unix epoch."""
    if dialect == "postgresql":  # date_part is double precision: much cheaper to sort on than numeric
        return func.floor(func.date_part("epoch", _S.at) / float(every_s))
    return cast(func.strftime("%s", _S.at), Integer) // every_s


def _chunks(start: datetime, end: datetime, every: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """[lo, hi) ranges of about an hour from ``start`` to ``end``, on bucket boundaries."""
    step = every * max(1, round(timedelta(hours=1) / every))
    lo = start
    while lo < end:
        yield lo, min(lo + step, end)
        lo += step


def _floor(moment: datetime, every: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((moment - epoch) // every) * every


def _windows(session: Session, lo: datetime, hi: datetime, now: datetime) -> dict[tuple[str, str],
                                                                                    list[tuple[datetime, datetime]]]:
    """(sensor, metric) → the stretches of time around incidents whose readings are kept in full."""
    query = (select(col(Alert.sensor), col(Alert.metric), col(Incident.opened_at), col(Incident.resolved_at))
             .join(Incident, col(Incident.id) == col(Alert.incident_id))
             .where(col(Alert.sensor).is_not(None), col(Alert.metric).is_not(None),
                    col(Incident.opened_at) < hi + AROUND_INCIDENT_BEFORE,
                    or_(col(Incident.resolved_at).is_(None), col(Incident.resolved_at) >= lo - AROUND_INCIDENT_AFTER)))
    found: dict[tuple[str, str], list[tuple[datetime, datetime]]] = {}
    for sensor, metric, opened_at, resolved_at in session.execute(query):
        span = (opened_at - AROUND_INCIDENT_BEFORE, (resolved_at or now) + AROUND_INCIDENT_AFTER)
        found.setdefault((sensor, metric), []).append(span)
    return found


def _thin_samples(db: Database, policy: RetentionPolicy, *, now: datetime, apply: bool) -> int:
    every = policy.samples_every
    cutoff = _floor(now - policy.samples_full, every)
    with db.reader() as session:
        mark = session.get(RetentionMark, SAMPLES_MARK)
        oldest = session.execute(select(func.min(_S.at))).scalar()
    start = mark.done_until if mark is not None else oldest
    if start is None:
        return 0
    removed = 0
    for lo, hi in _chunks(_floor(start, every), cutoff, every):
        with db.unit_of_work() if apply else db.reader() as session:
            removed += _thin_chunk(session, lo, hi, every, now=now, apply=apply)
            if apply:
                session.merge(RetentionMark(name=SAMPLES_MARK, done_until=hi))
    return removed


def _thin_chunk(session: Session, lo: datetime, hi: datetime, every: timedelta, *, now: datetime,
                apply: bool) -> int:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SET LOCAL work_mem = '64MB'"))  # the chunk's sort stays in memory
    # byte order ("C") is all the grouping needs, and much cheaper than the database's text collation
    sensor, metric = (_S.sensor.collate("C"), _S.metric.collate("C")) if dialect == "postgresql" else (_S.sensor,
                                                                                                      _S.metric)
    rank = func.row_number().over(partition_by=(sensor, metric, _bucket(dialect, int(every.total_seconds()))),
                                  order_by=(_S.at, _S.id))
    ranked = (select(_S.id, _S.sensor, _S.metric, _S.at, _S.alert_live, rank.label("rank"))
              .where(_S.at >= lo, _S.at < hi).subquery())
    surplus = ranked.c.rank > 1, ranked.c.alert_live == false()
    windows = _windows(session, lo, hi, now)
    near = sorted({sensor for sensor, _ in windows})
    plain = select(ranked.c.id).where(*surplus, *([ranked.c.sensor.not_in(near)] if near else []))
    close = [row_id for row_id, sensor, metric, at in session.execute(
        select(ranked.c.id, ranked.c.sensor, ranked.c.metric, ranked.c.at).where(*surplus, ranked.c.sensor.in_(near)))
        if not any(a <= at <= b for a, b in windows.get((sensor, metric), ()))] if near else []
    if not apply:
        return int(session.execute(select(func.count()).select_from(plain.subquery())).scalar_one()) + len(close)
    table, in_chunk = _SAMPLES, (_S.at >= lo, _S.at < hi)  # the range lets PostgreSQL find the rows by index
    removed: int = session.execute(delete(table).where(*in_chunk, _S.id.in_(plain.scalar_subquery()))).rowcount  # type: ignore[attr-defined]
    for start in range(0, len(close), _BATCH):
        removed += session.execute(delete(table).where(_S.id.in_(close[start:start + _BATCH]))).rowcount  # type: ignore[attr-defined]
    return removed
