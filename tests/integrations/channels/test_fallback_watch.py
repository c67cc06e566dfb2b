"""The fallback watch on a hand-moved clock: a degraded platform's waiting incidents reach their people by
their next channel once per outage; on recovery the threads are told and messages parked during the outage
for failing (not for being refused) are sent again."""

from sqlmodel import col, select

from handlers.paging import OP_NOTIFY
from incidents import outbox
from incidents.contacts import points, rules
from incidents.database import Database
from incidents.tables import OutboxMessage
from integrations.fallback_watch import FallbackWatch
from integrations.platform_health import DeliveryHealth
from tests.conftest import FakeClock
from tests.factories import make_core, make_signal, seed_people


def _rows(db: Database, **where: str) -> list[OutboxMessage]:
    with db.reader() as session:
        query = select(OutboxMessage).order_by(col(OutboxMessage.id))
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list(session.exec(query).all())


def test_an_outage_reaches_people_once_and_recovery_sends_the_parked_backlog_again(
    database: Database, clock: FakeClock
) -> None:
    ids = seed_people(database)
    core = make_core(database, platforms=("webchat", "slack"), now=clock)
    core.ctx.contact_channels = ("sms", "email")
    with database.unit_of_work() as session:
        point, code = points.add(session, person_id=ids["wangwei"], kind=points.PHONE, address="+8613800000001",
                                 now=clock())
        assert point.id is not None and points.verify(session, point_id=point.id, code=code, now=clock())
        rules.set_rules(session, person_id=ids["wangwei"], severity="SEV2", steps=[("chat", 0), ("sms", 900)])
    incident_id = core.flow.on_signal(make_signal())
    health = DeliveryHealth(60, now=clock)
    watch = FallbackWatch(core.ctx, health)
    health.record("slack", "SlackApiError: 503")
    clock.advance(seconds=30)
    assert watch.tick() == 0  # failing, not yet degraded
    clock.advance(seconds=31)
    assert watch.tick() == 1 and watch.tick() == 0  # once per outage
    [notice] = [r for r in _rows(database, op=OP_NOTIFY) if "fallback" in r.idempotency_key]
    assert (notice.platform, notice.payload["address"], notice.next_attempt_at) == ("sms", "+8613800000001", clock())
    assert any("slack 投递失败已超过 61 秒" in str(r.payload) for r in _rows(database, platform="webchat"))
    with database.unit_of_work() as session:
        failed, refused = _rows(database, platform="slack")[:2]
        for row, error in ((failed, "SlackApiError: 503"), (refused, "refused: slack: invalid_blocks")):
            fresh = session.get(OutboxMessage, row.id)
            assert fresh is not None
            outbox.mark_failed(session, fresh, error=error, retry_in=1, max_attempts=1, now=clock())
    health.record("slack", None)
    watch.tick()
    statuses = {r.id: r.status for r in _rows(database, platform="slack")}
    assert (statuses[failed.id], statuses[refused.id]) == (outbox.PENDING, outbox.DEAD)
    assert any("slack 已恢复" in str(r.payload) for r in _rows(database, platform="webchat"))
    assert incident_id is not None
