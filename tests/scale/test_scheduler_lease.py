"""The scheduler's jobs run only under its lease; the nightly retention is one of them, fenced like the others."""

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING
from sqlmodel import select

from incidents import retention
from incidents.database import Database
from incidents.leases import PostgresLeases
from incidents.tables import DeadLetter
from integrations.scheduler import RETENTION_JOB, NightlyAt, PersistentTimers, run_retention

pytestmark = pytest.mark.postgres


def _old_dead_letter(database: Database) -> None:
    with database.unit_of_work() as session:
        session.add(DeadLetter(source="mqtt", topic="t", payload="x", reason="old",
                               received_at=datetime.now(UTC) - timedelta(days=60)))


def _dead_letters(database: Database) -> int:
    with database.reader() as session:
        return len(session.exec(select(DeadLetter)).all())


async def test_the_nightly_retention_runs_under_the_lease_and_not_after_losing_it(pg_url: str) -> None:
    database, leases = Database(pg_url), PostgresLeases(pg_url)
    timers = PersistentTimers(database.engine, poll_seconds=0.1)
    timers.start(on_escalation=lambda **_: False, on_step=lambda **_: False, rearm=lambda: 0,
                 on_retention=lambda: retention.nightly(database, retention.RetentionPolicy()),
                 nightly=NightlyAt(3, 30, "Asia/Shanghai"))
    assert timers.scheduler.state == STATE_PAUSED  # without the lease, nothing runs
    lease = leases.try_acquire(name="scheduler", holder="me", ttl_seconds=30)
    assert lease is not None
    holding = asyncio.create_task(timers.hold(lease))
    for _ in range(200):  # hold() re-arms in a thread, then resumes the scheduler
        if timers.scheduler.state == STATE_RUNNING:
            break
        await asyncio.sleep(0.05)
    job = timers.scheduler.get_job(RETENTION_JOB)
    assert job is not None and job.next_run_time.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M") == "03:30"

    _old_dead_letter(database)
    await run_retention()  # what the cron trigger calls at 03:30
    assert _dead_letters(database) == 0

    engine = sa.create_engine(pg_url)  # another process takes the lease over
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE lease SET holder = 'other', token = token + 1"))
    engine.dispose()
    _old_dead_letter(database)
    await run_retention()  # this process has not noticed yet: the fence refuses its deletes
    assert _dead_letters(database) == 1

    holding.cancel()
    await asyncio.gather(holding, return_exceptions=True)
    assert timers.scheduler.state == STATE_PAUSED
    timers.shutdown()
    leases.dispose()
    database.dispose()
