"""Drills (issue 11, item 5), on SQLite and the real PostgreSQL: marked DRILL everywhere, kept apart from real
incidents, left out of the statistics by default and reported separately, and scheduled ahead."""

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from handlers.ports import CommandInvoked, Reply, UserRef
from handlers.review import review_stats
from incidents.database import Database
from incidents.tables import AuditEvent, Incident, OutboxMessage
from integrations.export.stats import stats_table
from tests.conftest import FakeClock
from tests.factories import LIBRARY, Core, make_core, seed_people


def _say(core: Core, clock: FakeClock, user: str, text: str, incident_id: int | None = None) -> Reply:
    name, *args = text.lstrip("/").split()
    return core.router.handle(CommandInvoked(platform="webchat", dedupe_key=f"{user}:{text}:{clock.now}",
                                             actor=UserRef("webchat", user), thread=None, received_at=clock.now,
                                             incident_id=incident_id, name=name, args=tuple(args)))


def _id(reply: Reply) -> int:
    assert reply.ok, reply.text
    return int(reply.text.split()[0].lstrip("#"))


def test_a_drill_is_marked_everywhere_and_never_joins_a_real_incident(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    core = make_core(database, platforms=("webchat", "slack"), now=clock)
    drill = _id(_say(core, clock, "wangwei", "/incident fire A1 --drill"))
    real = _id(_say(core, clock, "wangwei", "/incident fire A1"))
    chinese = _id(_say(core, clock, "wangwei", "/incident fire B2 演练"))
    assert len({drill, real, chinese}) == 3
    with database.reader() as session:
        incidents = {i.id: i for i in session.exec(select(Incident))}
        outbox = list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))
        declared = [e.after for e in session.exec(select(AuditEvent).where(AuditEvent.action == "incident.declared")
                                                   .order_by(col(AuditEvent.id)))]
    assert (incidents[drill].drill, incidents[real].drill, incidents[chinese].drill) == (True, False, True)
    assert incidents[drill].title_en.startswith("【演练 DRILL】") and "DRILL" not in incidents[real].title_en
    for message in outbox:  # every card and message of a drill, on every platform
        title = message.payload["message"]["title"]
        assert ("演练 DRILL" in title) == (message.incident_id != real), (message.incident_id, title)
    assert [d["drill"] for d in declared if d] == [True, False, True]


def test_statistics_leave_drills_out_and_report_them_apart(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    core = make_core(database, now=clock)
    start = clock.now
    drill = _id(_say(core, clock, "wangwei", "/incident fire A1 --drill"))
    real = _id(_say(core, clock, "wangwei", "/incident fire A2"))
    clock.advance(seconds=40)
    assert _say(core, clock, "wangwei", "/ack", drill).ok
    clock.advance(seconds=80)
    assert _say(core, clock, "wangwei", "/ack", real).ok
    with database.reader() as session:
        stats = review_stats(session, since=start - timedelta(hours=1), now=clock.now, library=LIBRARY)
        everything = review_stats(session, since=start - timedelta(hours=1), now=clock.now, library=LIBRARY,
                                  include_drills=True)
    assert stats.total == 1 and [g.count for g in stats.groups] == [1]
    assert stats.groups[0].mtta_seconds == 120  # the real incident only
    assert dict(stats.noisy_rules)["manual:fire-evacuation"] == 1  # the drill's alert is not noise
    assert (stats.drills.count, stats.drills.mtta_seconds) == (1, 40)
    assert everything.total == 2 and dict(everything.noisy_rules)["manual:fire-evacuation"] == 2
    assert "Drills (not counted above): 1 · MTTA 40 s" in stats_table(stats)


def test_a_drill_can_be_scheduled(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    core = make_core(database, now=clock)  # 2026-11-25 02:00 UTC = 10:00 in Shanghai
    reply = _say(core, clock, "wangwei", "/incident fire A1 --drill --at 14:30")
    assert reply.ok, reply.text
    [(at, job)] = core.timers.drills.values()
    assert at == datetime(2026, 11, 25, 6, 30, tzinfo=UTC)
    assert not _say(core, clock, "wangwei", "/incident fire A1 --drill --at someday").ok
    assert not _say(core, clock, "wangwei", "/incident fire A1 --at 14:30").ok  # only drills are planned ahead
    clock.now = at
    assert core.router.drills.due(**job) is True
    with database.reader() as session:
        incident = session.exec(select(Incident)).one()
        scheduled = session.exec(select(AuditEvent).where(AuditEvent.action == "drill.scheduled")).one()
    assert incident.drill and incident.zone == "A1" and incident.opened_at == at
    assert scheduled.after is not None and scheduled.after["playbook"] == "fire-evacuation"
