"""Staff shortage: an absent shift lead opens a staff-shortage incident and qualified substitutes are paged in
order (on shift elsewhere, then off shift), an expired or missing qualification never; acceptance from chat."""

import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import col, select

from handlers.commands import ChatRouter
from handlers.context import CoreContext
from handlers.incident_flow import IncidentFlow
from handlers.notify import Notifier
from handlers.playbook_flow import PlaybookFlow
from handlers.ports import CommandInvoked, Reply, UserRef
from handlers.staff_desk import AttendanceRefused, StaffDesk
from incidents import directory
from incidents.database import Database
from incidents.escalation import EscalationConfig
from incidents.staffing import KeyRole, StaffingPolicy, SubstituteOffer
from incidents.tables import AuditEvent, Incident, OutboxMessage, Person, Shift
from playbooks.loader import load_library
from tests.conftest import FakeClock
from tests.factories import ESCALATION, ROOT, Core, FakeTimers, make_core, make_signal

POLICY = StaffingPolicy(key_roles={"SL": KeyRole(qualification="shift-lead")}, check_in_grace=900)
PEOPLE = [  # login, zh, en, qualifications, on shift now
    ("wangwei", "王伟", "Wang Wei", ["shift-lead:2027-06-30"], True),
    ("zhoujie", "周杰", "Zhou Jie", ["shift-lead:2026-10-31", "forklift"], True),  # expired last month
    ("zhengli", "郑丽", "Zheng Li", ["forklift"], True),  # not a qualified shift lead
    ("wuqiang", "吴强", "Wu Qiang", ["shift-lead"], True),
    ("sunyue", "孙悦", "Sun Yue", ["shift-lead:2027-12-31"], False),
    ("chenlin", "陈琳", "Chen Lin", ["shift-lead"], False),
]


def seed(database: Database, clock: FakeClock) -> dict[str, int]:
    ids = {}
    starts = clock.now - timedelta(hours=2)
    with database.unit_of_work() as session:
        for login, zh, en, qualifications, on_shift in PEOPLE:
            person = directory.add_person(session, name_zh=zh, name_en=en, roles=["SL"], login=login,
                                          qualifications=qualifications, identities=[("webchat", login),
                                                                                     ("telegram", f"t-{login}")])
            assert person.id is not None
            ids[login] = person.id
            if on_shift:
                directory.add_shift(session, person_id=person.id, starts_at=starts,
                                    ends_at=starts + timedelta(hours=12))
        directory.add_person(session, name_zh="李娜", name_en="Li Na", roles=["WM"], login="lina",
                             identities=[("webchat", "lina")])
    return ids


def chat(core: Core, user: str, name: str, *args: str, platform: str = "webchat") -> Reply:
    return core.router.handle(CommandInvoked(platform=platform, dedupe_key=uuid.uuid4().hex,
                                             actor=UserRef(platform, user), thread=None, received_at=FakeClock.start,
                                             name=name, args=args))


def offers(database: Database, incident_id: int) -> list[tuple[str, bool, str]]:
    with database.reader() as session:
        rows = session.exec(select(SubstituteOffer).where(SubstituteOffer.incident_id == incident_id)
                            .order_by(col(SubstituteOffer.rank))).all()
        names = {p.id: p.name_en for p in session.exec(select(Person))}
    return [(names[o.person_id], o.on_shift, o.status) for o in rows]


def pages(database: Database, incident_id: int) -> list[str]:
    with database.reader() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.incident_id == incident_id,
                                                        OutboxMessage.platform == "webchat",
                                                        OutboxMessage.op == "post").order_by(col(OutboxMessage.id)))
        return [r.payload["message"]["body"] for r in rows if r.payload["message"]["title"].startswith("📣")]


def make(database: Database, clock: FakeClock) -> tuple[Core, StaffDesk, dict[str, int]]:
    ids = seed(database, clock)
    core = make_core(database, platforms=("webchat", "telegram"), now=clock)
    desk = StaffDesk(core.flow, POLICY)
    for name, command in desk.commands().items():
        core.router.register(name, command)
    return core, desk, ids


def test_an_absent_shift_lead_opens_a_shortage_and_pages_a_qualified_substitute(database: Database,
                                                                              clock: FakeClock) -> None:
    core, desk, _ = make(database, clock)
    (incident_id,) = desk.receive(b'{"person": "wangwei", "event": "absent", "reason": "sick"}', source="mqtt")
    with database.reader() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
    assert (incident.playbook_id, incident.severity) == ("staff-shortage", "SEV3")
    assert incident.title_en == "Key role uncovered: Shift lead Wang Wei absent"
    # Zhou's licence expired and Zheng holds none: never proposed; on shift before off shift
    assert offers(database, incident_id) == [("Wu Qiang", True, "paged"), ("Chen Lin", False, "waiting"),
                                             ("Sun Yue", False, "waiting")]
    assert pages(database, incident_id) == [
        "📣 吴强 Wu Qiang (on shift), please cover 班组长 Shift lead (SL) for 王伟 Wang Wei: reply /cover 1 to "
        "accept, /decline 1 if you cannot."]
    # the same absence reported again changes nothing
    assert desk.attendance("wangwei", "absent", at=clock.now, source="api") == [incident_id]
    assert len(offers(database, incident_id)) == 3

    assert chat(core, "sunyue", "cover", "1").ok  # any proposed substitute may accept
    assert offers(database, incident_id)[2][2] == "accepted"
    assert not chat(core, "wuqiang", "顶岗", "1").ok  # already covered


def test_a_declined_page_goes_to_the_next_and_acceptance_puts_them_on_the_roster(database: Database,
                                                                               clock: FakeClock) -> None:
    core, _, ids = make(database, clock)
    reply = chat(core, "lina", "缺勤", "wangwei", "family emergency")
    assert reply.ok, reply.text
    incident_id = 1
    assert not chat(core, "zhengli", "cover", "1").ok  # not proposed: no qualification
    declined = chat(core, "t-wuqiang", "decline", "1", platform="telegram")
    assert declined.ok, declined.text
    assert [status for *_, status in offers(database, incident_id)] == ["declined", "paged", "waiting"]
    assert "Chen Lin (off shift)" in pages(database, incident_id)[-1]
    accepted = chat(core, "t-chenlin", "cover", "1", platform="telegram")
    assert accepted.ok, accepted.text
    assert [status for *_, status in offers(database, incident_id)] == ["declined", "accepted", "withdrawn"]
    with database.reader() as session:
        (shift,) = session.exec(select(Shift).where(Shift.person_id == ids["chenlin"])).all()
        actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.incident_id == incident_id)
                                                  .order_by(col(AuditEvent.id)))]
    assert (shift.starts_at, shift.ends_at) == (clock.now, clock.now + timedelta(hours=10))
    assert [a for a in actions if a.startswith("staffing.")] == [
        "staffing.substitute_paged", "staffing.substitute_declined", "staffing.substitute_paged",
        "staffing.substitute_accepted"]


def test_a_missing_check_in_counts_as_an_absence_after_the_grace(database: Database, clock: FakeClock) -> None:
    core, desk, _ = make(database, clock)
    for login in ("wuqiang", "zhoujie", "zhengli"):
        assert chat(core, login, "签到").ok
    clock.now = clock.now - timedelta(hours=2) + timedelta(minutes=10)  # shifts began 10 minutes ago
    assert desk.tick() == []
    clock.now += timedelta(minutes=6)
    (incident_id,) = desk.tick()  # Wang Wei never checked in
    assert desk.tick() == []  # recorded once
    assert offers(database, incident_id)[0] == ("Wu Qiang", True, "paged")


def test_unusable_attendance_events_are_refused_with_a_reason(database: Database, clock: FakeClock) -> None:
    _, desk, _ = make(database, clock)
    for payload in (b"not json", b'{"person": "nobody", "event": "absent"}', b'{"person": "wangwei", "event": "nap"}',
                    b'{"person": "wangwei", "event": "absent", "at": "2026-11-25T08:00:00"}'):
        try:
            desk.receive(payload, source="mqtt")
        except AttendanceRefused as exc:
            assert " / " in exc.reason  # bilingual
        else:
            raise AssertionError(f"accepted {payload!r}")
    assert isinstance(clock.now, datetime)


def test_an_escalation_level_pages_only_holders_with_the_qualification(database: Database, clock: FakeClock) -> None:
    seed(database, clock)
    policy = EscalationConfig.model_validate({"policies": {"SEV2": {
        "first": ["WM"], "levels": [{"after_seconds": 60, "role": "SL", "qualification": "shift-lead"}]}}})
    core = make_core(database, escalation=policy, now=clock)
    incident_id = core.flow.on_signal(make_signal(at=clock.now))
    assert incident_id is not None
    token, _ = core.timers.armed[incident_id]
    clock.advance(minutes=1)
    assert core.flow.escalation_due(incident_id=incident_id, token=token)
    (paged,) = [n for n in pages_all(database, incident_id) if "SL" in n]
    assert "王伟 Wang Wei、吴强 Wu Qiang" in paged  # on shift and qualified; Zhou's expired, Zheng has none
    assert "Zhou" not in paged and "Zheng" not in paged


def test_a_playbook_role_that_needs_a_qualification_refuses_those_without(database: Database, clock: FakeClock,
                                                                          tmp_path: Path) -> None:
    seed(database, clock)
    source = (ROOT / "playbooks" / "library" / "staff-shortage.yaml").read_text(encoding="utf-8")
    (tmp_path / "staff-shortage.yaml").write_text(
        source.replace("roles: [SL, WM, SO, TC, CS]\n",
                       "roles: [SL, WM, SO, TC, CS]\nqualifications: {SL: shift-lead}\n"),
        encoding="utf-8")
    library = load_library(tmp_path)
    ctx = CoreContext(db=database, notifier=Notifier(("webchat",)), escalation=ESCALATION, timers=FakeTimers(),
                      timezone="Asia/Shanghai", now=clock)
    playbooks = PlaybookFlow(ctx, library)
    flow = IncidentFlow(ctx, playbooks)
    router = ChatRouter(ctx, flow, playbooks)
    opened = router.handle(CommandInvoked(platform="webchat", dedupe_key="d", actor=UserRef("webchat", "lina"),
                                          thread=None, received_at=clock.now, name="incident", args=("staff", "D1")))
    assert opened.ok, opened.text
    expired = router.handle(CommandInvoked(platform="webchat", dedupe_key="z", actor=UserRef("webchat", "zhoujie"),
                                           thread=None, received_at=clock.now, incident_id=1, name="done",
                                           args=("quantify-gap", "2")))
    assert not expired.ok and 'valid "shift-lead" qualification' in expired.text
    done = router.handle(CommandInvoked(platform="webchat", dedupe_key="w", actor=UserRef("webchat", "wuqiang"),
                                        thread=None, received_at=clock.now, incident_id=1, name="done",
                                        args=("quantify-gap", "2")))
    assert done.ok, done.text
    with database.reader() as session:
        (refusal,) = session.exec(select(AuditEvent).where(AuditEvent.action == "step.refused")).all()
    assert refusal.actor_name == "周杰 Zhou Jie"


def pages_all(database: Database, incident_id: int) -> list[str]:
    with database.reader() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.incident_id == incident_id,
                                                        OutboxMessage.platform == "webchat",
                                                        OutboxMessage.op == "post").order_by(col(OutboxMessage.id)))
        return [f'{r.payload["message"]["title"]} {r.payload["message"]["body"]}' for r in rows]
