"""Each person reads answers in their own language; the shared thread keeps the site's (both by default)."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.cli import app
from handlers import i18n
from handlers.ports import CommandInvoked, UserRef
from incidents import directory
from incidents.actors import SYSTEM
from incidents.database import Database
from incidents.tables import AuditEvent, OutboxMessage, Person
from tests.factories import Core, make_core, make_signal, seed_people

NOW = datetime(2026, 11, 25, 2, 5, tzinfo=UTC)
HAN = re.compile(r"[\u4e00-\u9fff]")


NAMES = {"wangwei": "Wang Wei", "lina": "Li Na", "zhangmin": "Zhang Min"}  # tests.factories.seed_people


def _reader(database: Database, user: str, language: str) -> None:
    person_id = _id(database, NAMES[user])
    with database.unit_of_work() as session:
        directory.set_language(session, person_id=person_id, language=language, by=SYSTEM)


def _id(database: Database, name_en: str) -> int:
    with database.reader() as session:
        person = session.exec(select(Person).where(Person.name_en == name_en)).one()
        assert person.id is not None
        return person.id


def _say(core: Core, user: str, name: str, *args: str, incident_id: int | None = None) -> str:
    event = CommandInvoked(platform="webchat", dedupe_key=f"{user}:{name}:{args}:{incident_id}",
                           actor=UserRef("webchat", user), thread=None, received_at=NOW, incident_id=incident_id,
                           name=name, args=args)
    return core.router.handle(event).text


def _thread_posts(database: Database, incident_id: int) -> list[str]:
    with database.reader() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.incident_id == incident_id,
                                                        OutboxMessage.op == "post")
                            .order_by(col(OutboxMessage.id))).all()
    return [f"{row.payload['message']['title']}\n{row.payload['message']['body']}" for row in rows]


def _header_title(database: Database, incident_id: int) -> str:
    with database.reader() as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.incident_id == incident_id,
                                                       OutboxMessage.op == "update_header")
                           .order_by(col(OutboxMessage.id).desc())).first()
    assert row is not None
    return str(row.payload["message"]["title"])


def test_english_chinese_and_both_readers_get_their_answers(database: Database) -> None:
    seed_people(database)
    _reader(database, "wangwei", "en")
    _reader(database, "lina", "zh")
    core = make_core(database, now=lambda: NOW)
    incident_id = core.flow.on_signal(make_signal())
    assert incident_id is not None

    english = _say(core, "wangwei", "help")
    assert english == i18n.render("help", "en", {}) and not HAN.search(english)
    assert _say(core, "wangwei", "help") == "This action was already processed."  # a retry, answered in English
    assert _say(core, "wangwei", "nosuch") == 'Unknown command "nosuch". Type /help for the list.'
    chinese = _say(core, "lina", "help")
    assert chinese == i18n.render("help", "zh", {}) and "Commands:" not in chinese
    both = _say(core, "zhangmin", "help")
    assert both == f"{chinese}\n{english}"  # as before languages were chosen

    acked = _say(core, "wangwei", "ack", incident_id=incident_id)
    assert acked == "王伟 Wang Wei acknowledged the incident."
    assert _say(core, "wangwei", "ack", "again", incident_id=incident_id) == (
        "The incident is acknowledged: cannot acknowledge")  # the domain's refusal, in English only
    assert _say(core, "lina", "ack", incident_id=incident_id) == "事件当前为「已确认」，不能执行该操作"
    assert _say(core, "zhangmin", "ack", incident_id=incident_id) == (
        "事件当前为「已确认」，不能执行该操作 / The incident is acknowledged: cannot acknowledge")
    assert _say(core, "wangwei", "status", incident_id=99) == "There is no incident #99"
    assert any("王伟 Wang Wei 已确认事件。\n王伟 Wang Wei acknowledged the incident." in post
               for post in _thread_posts(database, incident_id))  # the shared thread stays bilingual

    status = _say(core, "wangwei", "status", incident_id=incident_id).splitlines()
    assert status[:4] == [f"🟠 SEV2 #{incident_id} Cold room D1 at 8.6 °C", "Status: Acknowledged",
                          "Zone: SH-01 / D1", "Opened: Nov 25 10:05 CST"]
    assert status[4] == "Acknowledged by: 王伟 Wang Wei · Nov 25 10:05 CST"  # a name is a name
    assert _say(core, "lina", "status", incident_id=incident_id).splitlines()[:4] == [
        f"🟠 SEV2 #{incident_id} 冷库 D1 温度 8.6 °C", "状态: 已确认", "区域: SH-01 / D1", "开始: 11月25日 10:05 CST"]
    assert _say(core, "zhangmin", "status", incident_id=incident_id).splitlines()[1:4] == [
        "状态 Status: 已确认 Acknowledged", "区域 Zone: SH-01 / D1", "开始 Opened: 11-25 10:05 CST"]
    assert _say(core, "wangwei", "status") == f"#{incident_id} SEV2 Acknowledged · Cold room D1 at 8.6 °C"
    assert _say(core, "wangwei", "review", incident_id=incident_id) == (
        "Sorry, your roles (SL) do not allow you to export reviews. Roles that may: WM, OD, QA.")
    review = _say(core, "lina", "review", incident_id=incident_id)
    assert review.startswith(f"事件 #{incident_id} 的复盘报告") and "Post-incident" not in review
    header = _header_title(database, incident_id)
    assert header == f"🟠 SEV2 #{incident_id} 冷库 D1 温度 8.6 °C / Cold room D1 at 8.6 °C"  # shared: both


def test_a_reader_of_a_translators_new_language(database: Database, translator_dir: Path) -> None:
    i18n.configure(extra_dirs=[translator_dir])
    seed_people(database)
    _reader(database, "wangwei", "id")
    core = make_core(database)
    incident_id = core.flow.on_signal(make_signal())
    assert _say(core, "wangwei", "nosuch") == 'Perintah "nosuch" tidak dikenal. Ketik /help untuk daftarnya.'
    assert _say(core, "wangwei", "help") == i18n.render("help", "en", {})  # not translated yet: English
    assert _say(core, "wangwei", "ack", incident_id=incident_id) == "王伟 Wang Wei telah mengonfirmasi insiden."


def test_the_language_is_set_from_the_cli_checked_and_audited(sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                                                             language_setup: None) -> None:
    monkeypatch.setenv("WAREROOM_DATABASE_URL", sqlite_url)
    database = Database(sqlite_url)
    seed_people(database)
    person = _id(database, "Li Na")
    runner = CliRunner()
    done = runner.invoke(app, ["people", "language", str(person), "en"])
    assert done.exit_code == 0, done.output
    assert f"person #{person} 李娜 Li Na reads en" in done.output
    assert "reads:en" in runner.invoke(app, ["people", "list"]).output
    refused = runner.invoke(app, ["people", "language", str(person), "klingon"])
    assert refused.exit_code == 2 and 'Unknown language "klingon"; known: both, en, vi, zh' in refused.output
    with database.reader() as session:
        edits = session.exec(select(AuditEvent).where(AuditEvent.action == "directory.person_edited")).all()
        row = session.get(Person, person)
    assert row is not None and row.language == "en"
    assert [(e.before or {}).get("language") for e in edits] == ["both"]
    assert [(e.after or {}).get("language") for e in edits] == ["en"]
