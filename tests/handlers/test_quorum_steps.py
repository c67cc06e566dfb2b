"""Quorum steps: "every zone warden confirms their zone is clear", confirmed from different platforms, with
a live tally on every platform and reminders to the wardens still missing."""

import uuid

from sqlmodel import col, select

from handlers.ports import CommandInvoked, Reply, UserRef
from incidents import directory
from incidents.database import Database
from incidents.tables import AuditEvent, Incident, OutboxMessage
from tests.conftest import FakeClock
from tests.factories import Core, make_core, seed_people

PLATFORMS = ("webchat", "slack", "telegram")
WARDENS = [("赵一", "Zhao Yi", "zhaoyi"), ("钱二", "Qian Er", "qianer"), ("孙三", "Sun San", "sunsan")]


def seed_wardens(database: Database) -> None:
    with database.unit_of_work() as session:
        for number, (name_zh, name_en, user) in enumerate(WARDENS, start=2001):
            directory.add_person(session, name_zh=name_zh, name_en=name_en, roles=["FW"], identities=[
                ("webchat", user), ("slack", f"U-{user}"), ("telegram", str(number))])


def say(core: Core, platform: str, user: str, name: str, *args: str, incident_id: int | None = None) -> Reply:
    return core.router.handle(CommandInvoked(platform=platform, dedupe_key=uuid.uuid4().hex,
                                             actor=UserRef(platform, user), thread=None,
                                             received_at=FakeClock.start, incident_id=incident_id, name=name,
                                             args=args))


def step_status(core: Core, incident_id: int, step_id: str) -> str:
    with core.ctx.db.reader() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None and incident.playbook_state is not None
        return str(incident.playbook_state["steps"][step_id]["status"])


def latest_card_tally(database: Database, incident_id: int, platform: str) -> str | None:
    """The confirmations field of the warden-sweep card's latest version on ``platform``."""
    with database.reader() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.incident_id == incident_id,
                                                        OutboxMessage.platform == platform)
                            .order_by(col(OutboxMessage.id))).all()
    cards = [r.payload["message"] for r in rows
             if ":step:warden-sweep:" in r.idempotency_key + str(r.payload.get("ref_key"))]
    fields = dict(cards[-1]["fields"])
    return fields.get("确认进度 Confirmations")


def notices(database: Database, incident_id: int) -> list[str]:
    with database.reader() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.incident_id == incident_id,
                                                        OutboxMessage.platform == "webchat",
                                                        OutboxMessage.op == "post")
                            .order_by(col(OutboxMessage.id))).all()
    return [f'{r.payload["message"]["title"]}\n{r.payload["message"]["body"]}' for r in rows]


def test_a_quorum_step_completes_only_when_every_warden_confirmed_on_any_platform(database: Database,
                                                                                clock: FakeClock) -> None:
    seed_people(database)
    seed_wardens(database)
    core = make_core(database, platforms=PLATFORMS, now=clock)
    declared = say(core, "webchat", "wangwei", "incident", "fire", "D1")
    assert declared.ok, declared.text
    incident_id = int(declared.text.split()[0].lstrip("#"))
    assert step_status(core, incident_id, "warden-sweep") == "active"
    for platform in PLATFORMS:
        everyone = "赵一 Zhao Yi、钱二 Qian Er、孙三 Sun San"
        assert latest_card_tally(database, incident_id, platform) == \
            f"0/3，还差：{everyone} · 0 of 3; missing: {everyone}"

    first = say(core, "webchat", "zhaoyi", "done", "warden-sweep", incident_id=incident_id)
    assert first.ok, first.text
    assert step_status(core, incident_id, "warden-sweep") == "active"
    for platform in PLATFORMS:  # the live tally, on every platform, names who is still missing
        assert latest_card_tally(database, incident_id, platform) == \
            "1/3，还差：钱二 Qian Er、孙三 Sun San · 1 of 3; missing: 钱二 Qian Er、孙三 Sun San"
    again = say(core, "slack", "U-zhaoyi", "done", "warden-sweep", incident_id=incident_id)
    assert not again.ok and "already confirmed" in again.text
    assert not say(core, "webchat", "lina", "done", "warden-sweep", incident_id=incident_id).ok  # WM: not a warden

    # the sweep is late: the wardens still missing are reminded (and the escalation goes to SO)
    (token,) = [t for (i, t), (step, kind, _) in core.timers.steps.items()
                if i == incident_id and step == "warden-sweep" and kind == "complete"]
    clock.advance(minutes=5)
    assert core.playbooks.timer_due(incident_id=incident_id, step_id="warden-sweep", kind="complete", token=token)
    paged = [n for n in notices(database, incident_id) if n.startswith("📣 ") and "Reminder 1" in n]
    assert len(paged) == 1 and "钱二 Qian Er、孙三 Sun San" in paged[0] and "Zhao Yi" not in paged[0]

    assert say(core, "slack", "U-qianer", "done", "warden-sweep", incident_id=incident_id).ok
    assert step_status(core, incident_id, "warden-sweep") == "overdue"  # late, and still one warden short
    last = say(core, "telegram", "2003", "完成", "warden-sweep", incident_id=incident_id)
    assert last.ok, last.text
    assert step_status(core, incident_id, "warden-sweep") == "done"
    with database.reader() as session:
        trail = session.exec(select(AuditEvent).where(AuditEvent.object_id == "warden-sweep",
                                                      col(AuditEvent.action).in_(["step.confirmed", "step.done"]))
                             .order_by(col(AuditEvent.id))).all()
    assert [(e.action, e.actor_name, e.platform) for e in trail] == [
        ("step.confirmed", "赵一 Zhao Yi", "webchat"), ("step.confirmed", "钱二 Qian Er", "slack"),
        ("step.done", "孙三 Sun San", "telegram")]
