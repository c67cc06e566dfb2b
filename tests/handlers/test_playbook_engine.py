"""The playbook engine on incidents: safety first, timers, skip and claim, confirmed actions."""

from datetime import timedelta

from sqlmodel import select

from handlers.ports import ButtonClicked, ChatEvent, CommandInvoked, UserRef
from incidents import directory
from incidents.database import Database
from incidents.tables import ActionRun, AuditEvent, Incident, OutboxMessage
from tests.conftest import FakeClock
from tests.factories import Core, make_core, seed_people


def _command(user: str, name: str, *args: str, key: str, incident_id: int | None = None) -> ChatEvent:
    return CommandInvoked(platform="webchat", dedupe_key=key, actor=UserRef("webchat", user), thread=None,
                          received_at=FakeClock.start, incident_id=incident_id, name=name, args=args)


def _click(user: str, token: str, key: str) -> ChatEvent:
    return ButtonClicked(platform="webchat", dedupe_key=key, actor=UserRef("webchat", user), thread=None,
                         received_at=FakeClock.start, token=token)


def _add(database: Database, name_zh: str, name_en: str, role: str, user: str) -> None:
    with database.unit_of_work() as session:
        directory.add_person(session, name_zh=name_zh, name_en=name_en, roles=[role], identities=[("webchat", user)])


def _declare(core: Core, alias: str, zone: str, user: str = "wangwei") -> int:
    reply = core.router.handle(_command(user, "incident", alias, zone, key=f"declare-{alias}"))
    assert reply.ok, reply.text
    return int(reply.text.split()[0].lstrip("#"))


def _audit(database: Database, action: str) -> list[AuditEvent]:
    with database.reader() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_fire_incident_shows_its_safety_steps_first(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    core = make_core(database, now=clock)
    incident_id = _declare(core, "火警", "D1")
    with database.reader() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        current = core.playbooks.current_ids(incident)
        posts = session.exec(select(OutboxMessage).where(OutboxMessage.op == "post")).all()
    assert (incident.severity, incident.playbook_id) == ("SEV1", "fire-evacuation")
    assert incident.title_en == "Warehouse fire or smoke alarm: evacuation D1"
    loaded = core.playbooks.library["fire-evacuation"]
    safety = [s.id for s in loaded.playbook.all_steps() if s.safety and not getattr(s, "is_group", False)]
    assert current[: len(safety)] == safety and len(safety) >= 3
    cards = [p.payload["message"]["title"] for p in posts if p.idempotency_key.split(":")[2] == "step"]
    assert all(title.startswith("🚨") for title in cards[: len(safety)])
    declared = _audit(database, "incident.declared")
    assert [(e.actor_name, e.after) for e in declared] == [("王伟 Wang Wei", {"playbook": "fire-evacuation",
                                                                               "zone": "D1", "note": None,
                                                                               "drill": False})]
    unknown = core.router.handle(_command("wangwei", "incident", "flood", "D1", key="k-flood"))
    assert not unknown.ok and "fire" in unknown.text and "There is no playbook \"flood\"" in unknown.text


def test_a_step_timeout_escalates_once_and_a_stale_token_does_nothing(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    core = make_core(database, now=clock)
    incident_id = _declare(core, "power", "POWER")
    [(token, (step_id, kind, due))] = [(t, v) for (i, t), v in core.timers.steps.items()
                                       if i == incident_id and v[0] == "people-safe" and v[1] == "ack"]
    assert due == clock.now + timedelta(minutes=2)
    clock.advance(minutes=2)
    assert core.playbooks.timer_due(incident_id=incident_id, step_id=step_id, kind=kind, token=token) is True
    assert core.playbooks.timer_due(incident_id=incident_id, step_id=step_id, kind=kind, token=token) is False
    assert len(_audit(database, "step.timer.ack")) == 1
    with database.reader() as session:
        bodies = [p.payload["message"]["body"] for p in session.exec(select(OutboxMessage)
                                                                      .where(OutboxMessage.op == "post"))]
    assert sum("escalated to SO" in b for b in bodies) == 1


def test_skip_needs_a_reason_and_claim_is_recorded(database: Database) -> None:
    seed_people(database)
    _add(database, "刘洋", "Liu Yang", "MT", "liuyang")
    core = make_core(database)
    incident_id = _declare(core, "power", "POWER")
    refused = core.router.handle(_click("liuyang", f"v1:skip:{incident_id}:scope", "s1"))
    assert not refused.ok and "/skip scope" in refused.text
    claimed = core.router.handle(_click("liuyang", f"v1:claim:{incident_id}:scope", "c1"))
    assert claimed.ok and claimed.text.startswith("刘洋 Liu Yang 认领了步骤")
    no_reason = core.router.handle(_command("liuyang", "跳过", "scope", key="s2", incident_id=incident_id))
    assert not no_reason.ok
    skipped = core.router.handle(_command("liuyang", "skip", "scope", "utility", "line", "busy", key="s3",
                                          incident_id=incident_id))
    assert skipped.ok, skipped.text
    [event] = _audit(database, "step.skipped")
    assert (event.object_id, event.reason, event.platform_user_id) == ("scope", "utility line busy", "liuyang")
    assert [e.object_id for e in _audit(database, "step.claimed")] == ["scope"]


def test_a_generator_start_waits_for_the_named_role_and_runs_once(database: Database) -> None:
    seed_people(database)
    _add(database, "刘洋", "Liu Yang", "MT", "liuyang")
    core = make_core(database)
    incident_id = _declare(core, "power", "POWER")
    scope = core.router.handle(_command("liuyang", "done", "scope", "site_wide", key="g0", incident_id=incident_id))
    assert scope.ok, scope.text
    done = core.router.handle(_command("liuyang", "done", "generator-check", "否", key="g1", incident_id=incident_id))
    assert done.ok, done.text
    with database.reader() as session:
        run = session.exec(select(ActionRun).where(ActionRun.step_id == "start-generator")).one()
    assert (run.kind, run.status, run.confirm_by) == ("mqtt.publish", "awaiting_confirmation", "MT")
    token = f"v1:act:{incident_id}:{run.id}"
    wrong = core.router.handle(_click("wangwei", token, "a1"))
    assert not wrong.ok and "Only 设备/动力维修 Maintenance technician (MT)" in wrong.text
    own = core.router.handle(_click("liuyang", token, "a0"))  # his answer asked for it: another MT confirms
    assert not own.ok and "four eyes" in own.text
    _add(database, "周涛", "Zhou Tao", "MT", "zhoutao")
    first = core.router.handle(_click("zhoutao", token, "a2"))
    second = core.router.handle(_click("zhoutao", token, "a3"))
    assert first.ok and not second.ok and "will not run twice" in second.text
    refusals = [e.reason for e in _audit(database, "access.refused")]
    assert any("four eyes" in (r or "") for r in refusals)
    claimed = core.playbooks.actions.claim_due()
    assert [(r.id, r.status) for r in claimed] == [(run.id, "running")]
    assert core.playbooks.actions.claim_due() == []
    assert len(_audit(database, "action.confirmed")) == 1
