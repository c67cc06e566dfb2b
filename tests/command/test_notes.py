"""``/note`` on every platform adds a timeline entry (issue 11, item 8), on SQLite and PostgreSQL."""

from sqlmodel import col, select

from handlers.ports import CommandInvoked, Reply, UserRef
from handlers.review_story import words
from incidents.database import Database
from incidents.tables import AuditEvent, OutboxMessage
from tests.conftest import FakeClock
from tests.factories import make_core, make_signal, seed_people

USERS = {"webchat": "wangwei", "slack": "U-lina", "telegram": "1003", "wecom": "wangwei"}


def test_note_on_every_platform_is_a_timeline_entry(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    core = make_core(database, platforms=tuple(USERS), now=clock)
    incident_id = core.flow.on_signal(make_signal())
    assert incident_id is not None

    def note(platform: str, text: str, incident: int | None = incident_id) -> Reply:
        name, *args = text.split()
        return core.router.handle(CommandInvoked(
            platform=platform, dedupe_key=f"{platform}:{text}", actor=UserRef(platform, USERS[platform]),
            thread=None, received_at=clock.now, incident_id=incident, name=name.lstrip("/"), args=tuple(args)))

    for platform in USERS:
        clock.advance(minutes=1)
        reply = note(platform, f"/note {platform}: door closed, reading 7.9")
        assert reply.ok, reply.text
    assert note("wecom", "备注 换班 shift change").ok
    assert not note("webchat", "/note").ok  # nothing to note
    assert not note("webchat", "/note orphan", incident=None).ok  # not in an incident thread
    with database.reader() as session:
        notes = [(e.platform, e.after) for e in session.exec(
            select(AuditEvent).where(AuditEvent.action == "incident.note").order_by(col(AuditEvent.id)))]
        echoed = [o.platform for o in session.exec(select(OutboxMessage)) if o.op == "post"
                  and "added to the timeline: telegram: door closed" in o.payload["message"]["body"]]
    assert [p for p, _ in notes] == ["webchat", "slack", "telegram", "wecom", "wecom"]
    assert notes[2][1] == {"text": "telegram: door closed, reading 7.9", "source": "command"}
    assert sorted(echoed) == sorted(USERS)  # shown in the thread on every platform
    assert words("action_incident.note").en == "Timeline note"
