"""The contact dispatcher: each notice once, at its time; one refused notice holds up no other; acknowledged
and rate-limited notices are skipped and counted; a call carries a signed token naming incident and person."""

from datetime import timedelta

from sqlmodel import col, select

from handlers.paging import OP_NOTIFY, Limits
from incidents import directory, outbox
from incidents.contacts import points, rules
from incidents.database import Database
from incidents.lifecycle import Transition
from incidents.severity import Severity
from incidents.tables import OutboxMessage
from integrations.contact_dispatcher import ContactDispatcher
from integrations.contact_links import AckLinks, AckTarget
from integrations.twilio.adapter import TwilioAccount, TwilioSms, TwilioVoice
from tests.conftest import FakeClock
from tests.factories import make_core, make_signal, seed_people
from tests.fakes.live_server import live_server
from tests.fakes.twilio_api import FakeTwilio


def _phone(db: Database, person_id: int, number: str, clock: FakeClock, steps: list[tuple[str, int]]) -> None:
    with db.unit_of_work() as session:
        point, code = points.add(session, person_id=person_id, kind=points.PHONE, address=number, now=clock())
        assert point.id is not None and points.verify(session, point_id=point.id, code=code, now=clock())
        rules.set_rules(session, person_id=person_id, severity="SEV1", steps=steps)
        directory.add_shift(session, person_id=person_id, starts_at=clock() - timedelta(hours=1),
                            ends_at=clock() + timedelta(hours=8))


def _rows(db: Database) -> list[OutboxMessage]:
    with db.reader() as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.op == OP_NOTIFY)
                                 .order_by(col(OutboxMessage.id))).all())


async def test_each_notice_once_at_its_time_and_a_refused_one_holds_up_no_other(
    database: Database, clock: FakeClock
) -> None:
    ids = seed_people(database)
    core = make_core(database, now=clock)
    core.ctx.contact_channels = ("sms", "voice")
    _phone(database, ids["wangwei"], "+8613800000001", clock,
           [("sms", 0), ("voice", 60), ("sms", 120), ("sms", 180)])
    _phone(database, ids["zhangmin"], "+8613800000003", clock, [("sms", 0)])  # QA is paged for SEV1 too
    twilio = FakeTwilio(unreachable={"+8613800000003"})
    links = AckLinks("secret", "http://wareroom.test")
    incident_id = core.flow.on_signal(make_signal(severity=Severity.SEV1))
    with live_server(twilio.app) as url:
        account = TwilioAccount(twilio.account_sid, twilio.auth_token, "+15005550006", "http://wareroom.test",
                                api_url=url)
        dispatcher = ContactDispatcher(database, {"sms": TwilioSms(account), "voice": TwilioVoice(account)}, links,
                                       timezone="Asia/Shanghai", limits=Limits(per_incident=1), now=clock)
        assert await dispatcher.drain_once() == 1
        assert await dispatcher.drain_once() == 0  # nothing twice
        assert [m["To"] for m in twilio.messages] == ["+8613800000001"]
        statuses = {r.payload["address"]: r.status for r in _rows(database) if r.next_attempt_at <= clock()}
        assert statuses == {"+8613800000001": outbox.SENT, "+8613800000003": outbox.DEAD}

        clock.advance(seconds=60)
        assert await dispatcher.drain_once() == 1
        [call] = twilio.calls
        token = call["Twiml"].split("/twilio/voice/")[1].split("/key")[0]
        assert links.read_call(token) == AckTarget(incident_id or 0, ids["wangwei"])
        assert links.read_call(token[:-2] + "xx") is None

        clock.advance(seconds=60)
        assert await dispatcher.drain_once() == 0  # over the per-incident limit of 1 SMS an hour: held
        clock.advance(seconds=60)
        assert await dispatcher.drain_once() == 0  # held too
        assert dispatcher.stats.skipped[("sms", "rate limit")] == 2
        clock.advance(minutes=57)
        assert await dispatcher.drain_once() == 0  # the hour since the first SMS is not over yet
        clock.advance(minutes=1)
        assert await dispatcher.drain_once() == 1  # one SMS for both held notices
        assert dispatcher.stats.skipped[("sms", "grouped")] == 1
        clock.advance(hours=2)
        assert await dispatcher.drain_once() == 0
        for port in dispatcher.ports.values():
            await port.close()
    assert [m["To"] for m in twilio.messages] == ["+8613800000001"] * 2
    assert (dispatcher.stats.sent["sms"], dispatcher.stats.sent["voice"], dispatcher.stats.failed["sms"]) == (2, 1, 1)


async def test_an_acknowledged_incident_cancels_the_steps_still_to_come(database: Database, clock: FakeClock) -> None:
    ids = seed_people(database)
    core = make_core(database, now=clock)
    core.ctx.contact_channels = ("sms",)
    _phone(database, ids["wangwei"], "+8613800000001", clock, [("sms", 300)])
    twilio = FakeTwilio()
    incident_id = core.flow.on_signal(make_signal(severity=Severity.SEV1))
    assert incident_id is not None
    with database.reader() as session:
        [lead] = directory.with_role(session, role="SL")
    core.flow.change(incident_id=incident_id, change=Transition.ACKNOWLEDGE, actor=directory.actor_for(lead))
    with live_server(twilio.app) as url:
        account = TwilioAccount(twilio.account_sid, twilio.auth_token, "+15005550006", "", api_url=url)
        dispatcher = ContactDispatcher(database, {"sms": TwilioSms(account)}, AckLinks("s", ""),
                                       timezone="Asia/Shanghai", limits=Limits(), now=clock)
        clock.advance(seconds=300)
        assert await dispatcher.drain_once() == 0
    assert twilio.messages == []
    [row] = _rows(database)
    assert (row.status, row.message_native, row.last_error) == (outbox.SENT, "", "not sent: acknowledged")
