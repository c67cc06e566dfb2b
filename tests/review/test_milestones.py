"""Milestones edited by a person with the permission and a reason: audited before/after, used by the review's
metrics and the statistics, and shown as edited."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from handlers.milestone_desk import parse_time
from handlers.ports import CommandInvoked, Reply, UserRef
from handlers.review import ReviewSetup, build_review, review_stats
from incidents.database import Database
from incidents.tables import AuditEvent, Incident
from integrations.export.formats import ReviewFormat
from integrations.export.render import render
from tests.conftest import FakeClock
from tests.factories import LIBRARY, Core, make_core
from tests.review.scenario import play_cold_room_incident

SETUP = ReviewSetup(library=LIBRARY, timezone="Asia/Shanghai")


def chat(core: Core, user: str, *args: str) -> Reply:
    return core.router.handle(CommandInvoked(platform="webchat", dedupe_key=uuid.uuid4().hex,
                                             actor=UserRef("webchat", user), thread=None,
                                             received_at=FakeClock.start, name=args[0], args=args[1:]))


def test_an_edited_acknowledgement_changes_mtta_in_the_review_and_shows_the_edit(database: Database) -> None:
    scenario = play_cold_room_incident(database)
    core = make_core(database, now=lambda: scenario.end)
    number = str(scenario.incident_id)
    with database.reader() as session:
        incident = session.get(Incident, scenario.incident_id)
        assert incident is not None and incident.acknowledged_at is not None
        opened, acked = incident.opened_at, incident.acknowledged_at
        before = build_review(session, incident_id=scenario.incident_id, setup=SETUP, now=scenario.end)
    assert before.tta_seconds == 780.0

    radio = (opened + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M+00:00")
    refused = chat(core, "wangwei", "milestone", number, "ack", radio, "radio call")  # SL: no permission
    assert not refused.ok and "edit incident milestones" in refused.text
    assert not chat(core, "lina", "milestone", number, "ack", radio).ok  # no reason
    early = (opened - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M+00:00")
    out_of_order = chat(core, "lina", "milestone", number, "ack", early, "typo")
    assert not out_of_order.ok and "acknowledged must not be before impact_started" in out_of_order.text
    assert not chat(core, "lina", "milestone", number, "ack", "25:99", "typo").ok

    edited = chat(core, "lina", "修改里程碑", number, "确认", radio, "acknowledged", "on",
                  "the", "radio", "before", "the", "chat")
    assert edited.ok, edited.text
    listed = chat(core, "lina", "milestones", number).text
    assert "确认 Acknowledged: 11-25 10:57 CST" in listed and "edited by 李娜 Li Na" in listed

    with database.reader() as session:
        review = build_review(session, incident_id=scenario.incident_id, setup=SETUP, now=scenario.end)
        stats = review_stats(session, since=scenario.start - timedelta(days=1), now=scenario.end, library=LIBRARY)
        (event,) = session.exec(select(AuditEvent).where(AuditEvent.action == "milestone.edited")).all()
    assert review.tta_seconds == 300.0 and review.acknowledged_at == opened + timedelta(minutes=5)
    (mark,) = [m for m in review.milestones if m.key == "acknowledged"]
    assert (mark.edited_by, mark.reason, mark.system_at) == (
        "李娜 Li Na", "acknowledged on the radio before the chat", acked)
    markdown = render(review, ReviewFormat.MD, lang="en").decode()
    assert "These milestones were edited by people; the metrics use the edited times:" in markdown
    assert "Li Na: acknowledged on the radio before the chat" in markdown
    html = render(review, ReviewFormat.HTML, lang="en").decode()
    assert '<ul class="edited-milestones">' in html and "Li Na: acknowledged on the radio before the chat" in html
    assert (stats.groups[0].mtta_seconds, stats.groups[0].edited_milestones) == (300.0, 1)
    assert (event.actor_name, event.object_id, event.reason) == (
        "李娜 Li Na", "acknowledged", "acknowledged on the radio before the chat")
    assert event.before == {"at": acked.isoformat()}
    assert event.after == {"at": (opened + timedelta(minutes=5)).isoformat()}


def test_milestone_times_read_as_site_time() -> None:
    day = datetime(2026, 11, 25, 2, 52, tzinfo=UTC)  # 10:52 in Shanghai
    assert parse_time("10:57", day=day, timezone="Asia/Shanghai") == datetime(2026, 11, 25, 2, 57, tzinfo=UTC)
    assert parse_time("11-24 23:30", day=day, timezone="Asia/Shanghai") == datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
    assert parse_time("2026-11-25T03:00", day=day, timezone="Asia/Shanghai") == datetime(2026, 11, 24, 19, 0,
                                                                                          tzinfo=UTC)
