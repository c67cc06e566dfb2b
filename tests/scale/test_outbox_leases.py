"""Outbox delivery under one lease per platform, on the real PostgreSQL, against the fake Slack, Telegram and
WeCom: one platform's holder never waits for another's, and a row being claimed elsewhere is passed over."""

import asyncio

import pytest

from incidents import outbox
from incidents.leases import PostgresLeases
from tests.factories import make_signal
from tests.fakes.live_server import until
from tests.integrations import test_delivery_faults as faults
from tests.integrations.test_delivery_faults import PLATFORMS, Rig

fakes, rig = faults.fakes, faults.rig  # the fake platforms and the dispatcher rig of the delivery tests

pytestmark = pytest.mark.postgres


async def test_a_row_claimed_by_another_transaction_is_passed_over(rig: Rig) -> None:
    if rig.db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: nothing to skip")
    incident_id = rig.core.flow.on_signal(make_signal())
    assert incident_id is not None
    [row, *_] = rig.rows(platform="slack")
    assert row.id is not None
    with rig.db.unit_of_work() as first:
        claimed = outbox.claim(first, row_id=row.id)
        assert claimed is not None and claimed.status == outbox.PENDING
        with rig.db.unit_of_work() as second:  # at once, not after the first commits
            assert outbox.claim(second, row_id=row.id) is None
        outbox.mark_sending(first, claimed)
    with rig.db.unit_of_work() as later:  # the claim is over: the row is there, in doubt
        again = outbox.claim(later, row_id=row.id)
        assert again is not None and again.status == outbox.SENDING


async def test_each_platform_is_delivered_under_its_own_lease(rig: Rig) -> None:
    if rig.db.engine.dialect.name != "postgresql":
        pytest.skip("leases are PostgreSQL's")
    leases = PostgresLeases(rig.db.url)
    other = leases.try_acquire(name="outbox:slack", holder="another-process", ttl_seconds=60)
    assert other is not None
    dispatcher = await rig.dispatcher()
    loops = dispatcher.leases(leases, holder="this-process", ttl_seconds=3)
    assert sorted(loops) == sorted(f"outbox:{p}" for p in PLATFORMS)  # one per configured platform
    incident_id = rig.core.flow.on_signal(make_signal())
    assert incident_id is not None
    running = [asyncio.create_task(loop.run()) for loop in loops.values()]
    try:
        await until(lambda: {r.platform for r in rig.rows(status="sent")} == {"telegram", "wecom"})
        assert {r.status for r in rig.rows(platform="slack")} == {outbox.PENDING}  # its holder is elsewhere
        assert rig.fakes.slack.called("chat.postMessage") == []
        leases.release(other)  # the other process stops cleanly: this one takes Slack at its next try
        await until(lambda: {r.status for r in rig.rows(platform="slack")} == {outbox.SENT})
        assert loops["outbox:slack"].held is not None and loops["outbox:slack"].held.token == 2
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    assert len(rig.fakes.slack.called("chat.postMessage")) == len(rig.rows(platform="slack"))  # each row once
    leases.dispose()
