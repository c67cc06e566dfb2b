"""Silences set in chat: stored, audited, respected by the intake, expiring by themselves."""

from sqlmodel import col, select

from handlers.ports import CommandInvoked, Reply, UserRef
from incidents.database import Database
from incidents.silences import Silence
from incidents.tables import AuditEvent
from tests.conftest import FakeClock
from tests.factories import seed_people
from tests.intake.factories import Bench, make_bench


def chat(bench: Bench, name: str, *args: str) -> Reply:
    event = CommandInvoked(platform="webchat", dedupe_key=f"{name}{args}{bench.clock.now}",
                           actor=UserRef("webchat", "wangwei"), thread=None, received_at=bench.clock.now,
                           name=name, args=args)
    return bench.core.router.handle(event)


def silence_audit(database: Database) -> list[tuple[str, str | None, str | None, str | None]]:
    with database.reader() as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.object_type == "silence")
                            .order_by(col(AuditEvent.id))).all()
    return [(e.action, e.object_id, e.actor_name, e.reason) for e in rows]


def test_silence_mutes_a_zone_until_it_expires(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    bench = make_bench(database, clock, probes=1)
    reply = chat(bench, "静默", "D1", "30m", "除霜", "defrost")
    assert reply.ok, reply.text
    assert reply.text.splitlines() == [
        "王伟 Wang Wei 已静默 D1 至 11-25 10:30 CST（#1）：除霜 defrost。紧急（SEV1）告警不受静默影响。",
        "王伟 Wang Wei silenced D1 until 11-25 10:30 CST (#1): 除霜 defrost. Life-safety (SEV1) alerts still sound.",
    ]
    assert bench.send("d1-probe-1", "temperature", 9.0) == []
    assert bench.incidents() == []
    assert chat(bench, "silences").text.splitlines() == [
        "生效中的静默：", "Silences in force:", "#1 D1 → 11-25 10:30 CST · 王伟 Wang Wei: 除霜 defrost"]
    bench.wait(29 * 60)
    assert bench.incidents() == []
    (raised,) = bench.wait(60)  # expired: the alert still fires, so it is raised now
    assert [i.id for i in bench.incidents()] == [raised]
    assert silence_audit(database) == [("silence.created", "1", "王伟 Wang Wei", "除霜 defrost"),
                                       ("silence.expired", "1", "WareRoom", None)]
    assert chat(bench, "silences").text == "当前没有生效中的静默。\nNo silences in force."


def test_unsilence_raises_what_it_held(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    bench = make_bench(database, clock, probes=1)
    assert chat(bench, "silence", "d1-probe-1", "2h", "calibration").ok
    bench.send("d1-probe-1", "temperature", 9.0)
    assert bench.incidents() == []
    reply = chat(bench, "取消静默", "#1")
    assert reply.text.splitlines()[-1] == "王伟 Wang Wei ended silence #1 (d1-probe-1)."
    assert [i.dedup_key for i in bench.incidents()] == ["SH-01/D1/temperature"]
    with database.reader() as session:
        (silence,) = session.exec(select(Silence)).all()
    assert (silence.ended_by, silence.ended_at) == ("王伟 Wang Wei", clock.now)
    assert [a for a, *_ in silence_audit(database)] == ["silence.created", "silence.ended"]


def test_life_safety_is_never_silenced(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    bench = make_bench(database, clock, probes=1)
    assert chat(bench, "silence", "SH-01", "1h", "drill").ok
    assert bench.send("d1-probe-1", "temperature", 9.0) == []
    (smoke,) = bench.send("dock-smoke-1", "smoke", True)
    assert [(i.id, i.severity) for i in bench.incidents()] == [(smoke, "SEV1")]


def test_bad_silence_commands_get_a_bilingual_answer(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    bench = make_bench(database, clock, probes=1)
    answers = [chat(bench, *command) for command in (
        ("silence", "D1"),
        ("silence", "D9", "30m", "typo"),
        ("silence", "D1", "30", "no unit"),
        ("silence", "D1", "8d", "too long"),
        ("unsilence", "7"),
        ("unsilence", "abc"),
    )]
    assert [(a.ok, a.text.splitlines()[-1]) for a in answers] == [
        (False, "Usage: /silence <zone or device> <duration> <reason>, e.g. /silence D1 30m defrost"),
        (False, 'Unknown site, zone, device or rule "D9".'),
        (False, '"30" is not a valid duration; write it like 30m or 2h (at most 7 days).'),
        (False, '"8d" is not a valid duration; write it like 30m or 2h (at most 7 days).'),
        (False, "There is no silence #7 in force."),
        (False, "Usage: /unsilence <id>, e.g. /unsilence 3"),
    ]
    assert [a.text.splitlines()[0] for a in answers][:2] == [
        "用法：/silence 区域或设备 时长 原因，例如 /silence D1 30m 除霜", "未知的站点、区域、设备或规则「D9」。"]
    assert silence_audit(database) == []
