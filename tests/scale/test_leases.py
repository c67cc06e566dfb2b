"""Leases on the real PostgreSQL: acquire, renew, expiry and takeover, fencing, and two real processes."""

import asyncio
import os
import signal
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from incidents.database import Database
from incidents.leases import HeldLease, LeaseLost, PostgresLeases, SoleLeases, check_fence, fenced
from incidents.tables import DeadLetter
from integrations.lease_loop import LeaseLoop
from tests.e2e.server import wait_for
from tests.scale.lease_worker import SOURCE
from tests.scale.processes import Process, python

pytestmark = pytest.mark.postgres


def _expire(url: str, name: str) -> None:
    """Make the lease's expiry pass now, as if its holder had stopped renewing long ago."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE lease SET expires_at = clock_timestamp() - interval '1 second' "
                             "WHERE name = :name"), {"name": name})
    engine.dispose()


def test_one_holder_at_a_time_and_renewal(pg_url: str) -> None:
    leases = PostgresLeases(pg_url)
    first = leases.try_acquire(name="scheduler", holder="a", ttl_seconds=30)
    assert first == HeldLease(name="scheduler", holder="a", token=1)
    assert leases.try_acquire(name="scheduler", holder="b", ttl_seconds=30) is None
    assert leases.renew(first, ttl_seconds=30) is True
    assert leases.renew(HeldLease("scheduler", "b", 1), ttl_seconds=30) is False  # not b's
    state = leases.state("scheduler")
    assert state is not None and (state.holder, state.token) == ("a", 1) and 25 < state.expires_in <= 30
    assert leases.try_acquire(name="outbox:slack", holder="b", ttl_seconds=30) == HeldLease("outbox:slack", "b", 1)
    leases.dispose()


def test_an_expired_lease_is_taken_over_with_a_new_token(pg_url: str) -> None:
    leases = PostgresLeases(pg_url)
    old = leases.try_acquire(name="scheduler", holder="a", ttl_seconds=30)
    assert old is not None
    _expire(pg_url, "scheduler")
    new = leases.try_acquire(name="scheduler", holder="b", ttl_seconds=30)
    assert new == HeldLease("scheduler", "b", 2)
    assert leases.renew(old, ttl_seconds=30) is False  # the old holder learns it lost the lease
    leases.release(old)  # releasing what one no longer holds changes nothing
    assert leases.try_acquire(name="scheduler", holder="c", ttl_seconds=30) is None
    leases.release(new)  # a clean shutdown lets the next one in at once
    assert leases.try_acquire(name="scheduler", holder="c", ttl_seconds=30) == HeldLease("scheduler", "c", 3)
    leases.dispose()


def test_a_fenced_write_of_an_old_holder_is_refused(pg_url: str) -> None:
    leases, database = PostgresLeases(pg_url), Database(pg_url)
    old = leases.try_acquire(name="scheduler", holder="a", ttl_seconds=30)
    assert old is not None
    with fenced(old), database.unit_of_work() as session:
        session.add(DeadLetter(source="t", topic="a", payload="1", reason="before"))
    _expire(pg_url, "scheduler")
    new = leases.try_acquire(name="scheduler", holder="b", ttl_seconds=30)
    assert new is not None
    with pytest.raises(LeaseLost), fenced(old), database.unit_of_work() as session:
        session.add(DeadLetter(source="t", topic="a", payload="1", reason="after the takeover"))
    with fenced(new), database.unit_of_work() as session:
        session.add(DeadLetter(source="t", topic="b", payload="2", reason="new holder"))
    with database.unit_of_work() as session:  # unfenced writes are not affected
        session.add(DeadLetter(source="t", topic="-", payload="-", reason="unfenced"))
    with database.reader() as session:
        reasons = list(session.exec(select(DeadLetter.reason).order_by(col(DeadLetter.id))))
    assert reasons == ["before", "new holder", "unfenced"]
    leases.dispose()
    database.dispose()


def test_a_takeover_waits_for_a_fenced_write_in_flight(pg_url: str) -> None:
    """The share lock taken by the fence check holds a takeover back until the write commits."""
    leases, database = PostgresLeases(pg_url), Database(pg_url)
    old = leases.try_acquire(name="scheduler", holder="a", ttl_seconds=30)
    assert old is not None
    taken: list[HeldLease | None] = []
    _expire(pg_url, "scheduler")  # the holder is late, but nobody has taken over yet
    with fenced(old), database.unit_of_work() as session:
        session.add(DeadLetter(source="t", topic="a", payload="1", reason="in flight"))
        check_fence(session)  # what the commit does first; the lease row is now share-locked
        contender = threading.Thread(target=lambda: taken.append(
            leases.try_acquire(name="scheduler", holder="b", ttl_seconds=30)))
        contender.start()
        wait_for(lambda: _waiting_on_a_lock(pg_url))
        assert taken == []
    contender.join(10)
    assert taken == [HeldLease("scheduler", "b", 2)]
    with database.reader() as session:
        assert session.exec(select(DeadLetter.reason)).all() == ["in flight"]
    leases.dispose()
    database.dispose()


def _waiting_on_a_lock(url: str) -> bool:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        waiting = conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                       "AND query LIKE '%INSERT INTO lease%'")).scalar_one()
    engine.dispose()
    return bool(waiting)


async def test_the_loop_runs_work_while_held_and_cancels_it_when_lost(pg_url: str) -> None:
    leases = PostgresLeases(pg_url)
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def work(lease: HeldLease) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    loop = LeaseLoop(leases, name="scheduler", holder="a", ttl_seconds=1.5, work=work)
    task = asyncio.create_task(loop.run())
    await asyncio.wait_for(started.wait(), timeout=10)
    assert loop.held == HeldLease("scheduler", "a", 1) and loop.alive()
    # another process steals the lease (an operator, or a holder that ignores expiry): the renewal fails
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE lease SET holder = 'intruder', token = token + 1, "
                             "expires_at = clock_timestamp() + interval '1 hour'"))
    engine.dispose()
    await asyncio.wait_for(cancelled.wait(), timeout=10)
    assert loop.held is None and loop.alive()  # back to contending
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert not loop.alive()
    leases.dispose()


async def test_a_clean_stop_releases_the_lease_for_the_next_process(pg_url: str) -> None:
    leases = PostgresLeases(pg_url)
    holding: dict[str, asyncio.Event] = {"a": asyncio.Event(), "b": asyncio.Event()}

    async def idle(lease: HeldLease) -> None:
        holding[lease.holder].set()
        await asyncio.Event().wait()

    first = LeaseLoop(leases, name="scheduler", holder="a", ttl_seconds=30, work=idle)
    second = LeaseLoop(leases, name="scheduler", holder="b", ttl_seconds=30, work=idle)
    tasks = [asyncio.create_task(first.run())]
    await asyncio.wait_for(holding["a"].wait(), timeout=10)
    tasks.append(asyncio.create_task(second.run()))
    await asyncio.sleep(0.2)
    assert second.held is None
    tasks[0].cancel()
    await asyncio.gather(tasks[0], return_exceptions=True)
    # the next try comes within ttl / 5 = 6 s, long before the 30 s expiry
    await asyncio.wait_for(holding["b"].wait(), timeout=15)
    assert second.held == HeldLease("scheduler", "b", 2)
    tasks[1].cancel()
    await asyncio.gather(tasks[1], return_exceptions=True)
    leases.dispose()


def test_sqlite_holds_every_lease_at_once() -> None:
    sole = SoleLeases()
    lease = sole.try_acquire(name="scheduler", holder="me", ttl_seconds=10)
    assert lease is not None and sole.renew(lease, ttl_seconds=10) and sole.state("scheduler") is None


def _worker_rows(database: Database) -> list[tuple[int, str, str]]:
    with database.reader() as session:
        rows = session.exec(select(DeadLetter.id, DeadLetter.topic, DeadLetter.payload)
                            .where(DeadLetter.source == SOURCE).order_by(col(DeadLetter.id))).all()
    return [(int(i or 0), topic, payload) for i, topic, payload in rows]


def _holder_pid(leases: PostgresLeases) -> int | None:
    state = leases.state("scheduler")
    return int(state.holder.split(":")[1]) if state is not None and state.expires_in > 0 else None


TTL = 3.0


def test_a_killed_holder_is_replaced_after_its_lease_expires(pg_url: str, processes: list[Process]) -> None:
    leases, database = PostgresLeases(pg_url), Database(pg_url)
    first = Process(python("-m", "tests.scale.lease_worker", pg_url, "scheduler", str(TTL)))
    processes.append(first)
    first.wait_for_line("held 1")
    second = Process(python("-m", "tests.scale.lease_worker", pg_url, "scheduler", str(TTL)))
    processes.append(second)
    second.wait_for_line("holder ")
    wait_for(lambda: len(_worker_rows(database)) >= 5)
    before = leases.state("scheduler")
    assert before is not None and _holder_pid(leases) == first.pid
    killed_at = time.time()
    os.kill(first.pid, signal.SIGKILL)
    second.wait_for_line("held 2", timeout=4 * TTL)
    after = leases.state("scheduler")
    assert after is not None and after.token == 2 and _holder_pid(leases) == second.pid
    # never before the dead holder's lease could have expired: at least ttl after its last renewal
    # (the holder may have renewed once more after this read: its last renewal is later still)
    assert after.acquired_at - before.renewed_at >= timedelta(seconds=TTL)
    print(f"takeover after SIGKILL: {after.acquired_at.timestamp() - killed_at:.2f} s (ttl {TTL} s)")
    wait_for(lambda: any(payload == "2" for _, _, payload in _worker_rows(database)))
    rows = _worker_rows(database)
    assert {payload for _, _, payload in rows} == {"1", "2"}
    assert max(i for i, _, p in rows if p == "1") < min(i for i, _, p in rows if p == "2")
    leases.dispose()
    database.dispose()


def test_a_paused_holder_cannot_write_after_the_takeover(pg_url: str, processes: list[Process]) -> None:
    """SIGSTOP: the holder misses its renewals but its writer thread resumes after SIGCONT; the fence stops it."""
    leases, database = PostgresLeases(pg_url), Database(pg_url)
    first = Process(python("-m", "tests.scale.lease_worker", pg_url, "scheduler", str(TTL)))
    processes.append(first)
    first.wait_for_line("held 1")
    second = Process(python("-m", "tests.scale.lease_worker", pg_url, "scheduler", str(TTL)))
    processes.append(second)
    second.wait_for_line("holder ")
    os.kill(first.pid, signal.SIGSTOP)
    second.wait_for_line("held 2", timeout=4 * TTL)
    wait_for(lambda: sum(payload == "2" for _, _, payload in _worker_rows(database)) >= 3)
    os.kill(first.pid, signal.SIGCONT)
    first.wait_for_line("refused ")  # its writer thread tried, and the fence said no
    rows = _worker_rows(database)
    assert max(i for i, _, p in rows if p == "1") < min(i for i, _, p in rows if p == "2")
    assert _holder_pid(leases) == second.pid
    leases.dispose()
    database.dispose()
