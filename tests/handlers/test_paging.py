"""Personal notification rules become delayed outbox notices; quiet hours, acknowledgement and rate limits
decide at send time; the PIN locks after repeated failures; addresses need their code."""

from datetime import time, timedelta

from sqlmodel import col, select

from handlers import paging
from handlers.contact_ack import ContactAck, parse_reply
from incidents.actors import SYSTEM
from incidents.contacts import pins, points, rules
from incidents.database import Database
from incidents.lifecycle import Transition
from incidents.severity import Severity
from incidents.tables import AuditEvent, OutboxMessage
from tests.conftest import FakeClock
from tests.factories import make_core, make_signal, seed_people

PHONE = "+8613800000001"


def _reachable(db: Database, person_id: int, clock: FakeClock, *, email: bool = False) -> None:
    with db.unit_of_work() as session:
        point, code = points.add(session, person_id=person_id, kind=points.PHONE, address="+86 138-0000-0001",
                                 now=clock())
        assert point.id is not None and points.verify(session, point_id=point.id, code=code, now=clock())
        if email:
            mail, code = points.add(session, person_id=person_id, kind=points.EMAIL, address="Wang@Site.example",
                                    now=clock())
            assert mail.id is not None and points.verify(session, point_id=mail.id, code=code, now=clock())
        pins.set_pin(session, person_id=person_id, pin="2468")


def _notices(db: Database) -> list[OutboxMessage]:
    with db.reader() as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.op == paging.OP_NOTIFY)
                                 .order_by(col(OutboxMessage.id))).all())


def test_rules_become_delayed_notices_and_an_escalation_pages_the_role_by_each_persons_rules(
    database: Database, clock: FakeClock
) -> None:
    ids = seed_people(database)
    core = make_core(database, now=clock)
    core.ctx.contact_channels = ("sms", "voice", "email")
    _reachable(database, ids["wangwei"], clock, email=True)
    _reachable_li = ids["lina"]
    with database.unit_of_work() as session:
        rules.set_rules(session, person_id=ids["wangwei"], severity="SEV1",
                        steps=[("chat", 0), ("sms", 120), ("voice", 300), ("email", 0)])
        point, code = points.add(session, person_id=_reachable_li, kind=points.PHONE, address="+8613800000002",
                                 now=clock())
        assert point.id is not None and points.verify(session, point_id=point.id, code=code, now=clock())
        rules.set_rules(session, person_id=_reachable_li, severity="SEV1", steps=[("voice", 0)])
    incident_id = core.flow.on_signal(make_signal(severity=Severity.SEV1))
    assert incident_id is not None
    rows = _notices(database)
    assert [(r.platform, r.payload["address"], r.next_attempt_at - clock()) for r in rows] == [
        ("email", "wang@site.example", timedelta(0)), ("sms", PHONE, timedelta(seconds=120)),
        ("voice", PHONE, timedelta(seconds=300))]
    token = core.timers.armed[incident_id][0]
    clock.advance(seconds=300)
    assert core.flow.escalation_due(incident_id=incident_id, token=token)  # SEV1 level 1 pages WM: Li Na
    assert [(r.platform, r.payload["address"]) for r in _notices(database)[3:]] == [("voice", "+8613800000002")]


def test_acknowledged_quiet_hours_and_rate_limits_hold_a_notice_back_but_sev1_ignores_quiet_hours(
    database: Database, clock: FakeClock
) -> None:
    ids = seed_people(database)
    core = make_core(database, now=clock)
    core.ctx.contact_channels = ("sms",)
    person = ids["wangwei"]
    _reachable(database, person, clock)
    with database.unit_of_work() as session:
        for severity in ("SEV1", "SEV2"):
            rules.set_rules(session, person_id=person, severity=severity, steps=[("sms", 0), ("sms", 60)])
        rules.set_quiet_hours(session, person_id=person, start=time(9, 0), end=time(11, 0))  # 02:00 UTC = 10:00 CST
    limits = paging.Limits(per_incident=1, per_person=10)
    sev2 = core.flow.on_signal(make_signal())
    sev1 = core.flow.on_signal(make_signal(severity=Severity.SEV1, fingerprint="power", rule_id="power-cut", zone="E1",
                                           sensor="e1-power", playbook=None))
    assert sev1 is not None and sev2 is not None
    with database.unit_of_work() as session:
        first2, _, first1, second1 = _notices(database)
        decisions = []
        for row in (first2, first1):
            fresh = session.get(OutboxMessage, row.id)
            assert fresh is not None
            decisions.append(paging.decide(session, fresh, now=clock(), timezone="Asia/Shanghai", limits=limits))
            fresh.status, fresh.message_native, fresh.sent_at = "sent", "SM1", clock()
            session.add(fresh)
    assert decisions == ["quiet hours", None]
    assert _decide(database, second1.id, clock, limits) == "rate limit"
    core.flow.change(incident_id=sev1, change=Transition.ACKNOWLEDGE, actor=SYSTEM)
    assert _decide(database, second1.id, clock, limits) == "acknowledged"


def _decide(database: Database, row_id: int | None, clock: FakeClock, limits: paging.Limits) -> str | None:
    with database.reader() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        return paging.decide(session, row, now=clock(), timezone="Asia/Shanghai", limits=limits)


def test_repeated_wrong_pins_lock_the_pin_and_every_failure_is_audited(database: Database, clock: FakeClock) -> None:
    ids = seed_people(database)
    core = make_core(database, now=clock)
    _reachable(database, ids["wangwei"], clock)
    incident_id = core.flow.on_signal(make_signal())
    assert incident_id is not None
    ack = ContactAck(core.ctx, core.flow)
    outcomes = [ack.sms_reply(sender=PHONE, body=f"确认 {incident_id} 1111", event_id=f"SM{n}").result
                for n in range(5)]
    assert outcomes == ["wrong"] * 4 + ["locked"]
    assert ack.sms_reply(sender=PHONE, body=f"确认 {incident_id} 2468", event_id="SM9").result == "locked"
    clock.advance(minutes=16)
    assert ack.sms_reply(sender=PHONE, body=f"确认 {incident_id} 2468", event_id="SM10").result == "acked"
    with database.reader() as session:
        actions = [e.action for e in session.exec(select(AuditEvent).where(
            col(AuditEvent.action).startswith("contact.pin_"))).all()]
    assert actions == ["contact.pin_set"] + ["contact.pin_failed"] * 5 + ["contact.pin_locked",
                                                                          "contact.pin_refused_locked"]


def test_an_address_is_used_only_once_proved_by_its_code(database: Database, clock: FakeClock) -> None:
    ids = seed_people(database)
    with database.unit_of_work() as session:
        point, code = points.add(session, person_id=ids["wangwei"], kind=points.PHONE, address=PHONE, now=clock())
        assert point.id is not None
        wrong = "000000" if code != "000000" else "111111"
        assert not points.verify(session, point_id=point.id, code=wrong, now=clock())
        assert points.verified_address(session, person_id=ids["wangwei"], kind=points.PHONE) is None
        assert points.person_by_phone(session, PHONE) is None
        assert not points.verify(session, point_id=point.id, code=code, now=clock() + timedelta(minutes=11))
        assert points.verify(session, point_id=point.id, code=code, now=clock())
        assert points.person_by_phone(session, PHONE) is not None


def test_replies_are_read_in_both_languages() -> None:
    assert parse_reply("确认 42 1234") == (42, "1234")
    assert parse_reply("42 ACK 1234") == (42, "1234")
    assert parse_reply("ack 1234") == (None, "1234")
    assert parse_reply("42 1234") is None
    assert parse_reply("确认") is None
