"""A quorum step through the real platform adapters: three zone wardens confirm the sweep from the web chat, a
Slack thread and a Telegram reply; the tally with the names still missing is edited into the step card on
Slack and Telegram, and the step is done only after the third warden."""

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from incidents import directory
from incidents.database import Database
from incidents.tables import AuditEvent
from tests.e2e.server import act_as, app_settings, running, wait_for
from tests.e2e.test_all_platforms import SLACK_SECRET, _fakes
from tests.factories import seed_people
from tests.fakes.slack_api import signed_headers, thread_message_body
from tests.fakes.telegram_api import text_update, user

pytestmark = pytest.mark.mosquitto
WARDENS = [("赵一", "Zhao Yi", "zhaoyi", 2001), ("钱二", "Qian Er", "qianer", 2002),
           ("孙三", "Sun San", "sunsan", 2003)]


def _seed(url: str) -> None:
    database = Database(url)
    seed_people(database)
    with database.unit_of_work() as session:
        for name_zh, name_en, login, telegram_id in WARDENS:
            directory.add_person(session, name_zh=name_zh, name_en=name_en, roles=["FW"], identities=[
                ("webchat", login), ("slack", f"U-{login}"), ("telegram", str(telegram_id))])
    database.dispose()


def test_all_wardens_confirm_the_sweep_from_three_platforms(tmp_path: Path, sqlite_url: str) -> None:
    _seed(sqlite_url)
    with ExitStack() as stack:
        slack, telegram, _wecom, chat_settings = _fakes(stack)
        http = stack.enter_context(running(app_settings(tmp_path, sqlite_url, **chat_settings)))
        declared = http.post("/webchat/command", json={"text": "/incident fire D1", "event_id": "fire-1"},
                             headers=act_as(sqlite_url, "wangwei"))
        assert declared.json()["ok"], declared.text
        [incident] = wait_for(lambda: http.get("/api/v1/incidents").json())
        incident_id = incident["id"]
        title = f"#{incident_id} "
        slack_root = wait_for(lambda: next((ts for (_, ts), m in slack.messages.items()
                                            if m["thread_ts"] is None and title in m["text"]), None))
        tg_root = wait_for(lambda: next((m for m in telegram.messages.values()
                                         if "reply_to_message" not in m and title in m["text"]), None))

        def slack_card(missing: str) -> bool:
            return any("warden" in str(m.get("blocks")).lower() and missing in json.dumps(m, ensure_ascii=False)
                       for m in slack.messages.values())

        def telegram_card(missing: str) -> bool:
            return any(missing in m["text"] for m in telegram.messages.values())

        web = http.post("/webchat/command", json={"text": "/done warden-sweep", "incident_id": incident_id,
                                                  "event_id": "w-1"}, headers=act_as(sqlite_url, "zhaoyi"))
        assert web.json()["ok"], web.text
        wait_for(lambda: slack_card("1 of 3; missing: 钱二 Qian Er、孙三 Sun San"))
        wait_for(lambda: telegram_card("1 of 3; missing: 钱二 Qian Er、孙三 Sun San"))

        body = thread_message_body(event_id="Ev-q-1", user="U-qianer", channel="C-OPS", thread_ts=slack_root,
                                   text="/done warden-sweep")
        answer = http.post("/slack/events", content=body,
                           headers=signed_headers(body, SLACK_SECRET, "application/json"))
        assert answer.status_code == 200
        wait_for(lambda: telegram_card("2 of 3; missing: 孙三 Sun San"))

        update: dict[str, Any] = text_update(8001, sender=user(2003, "San"), chat=tg_root["chat"],
                                             text="/done warden-sweep", reply_to=tg_root)
        assert http.post("/telegram/webhook", json=update,
                         headers={"X-Telegram-Bot-Api-Secret-Token": "tg-e2e-secret"}).status_code == 200
        database = Database(sqlite_url)

        def confirmations() -> list[tuple[str, str, str | None]]:
            with database.reader() as session:
                return [(e.action, e.actor_name, e.platform) for e in session.exec(
                    select(AuditEvent).where(AuditEvent.object_id == "warden-sweep",
                                             col(AuditEvent.action).in_(["step.confirmed", "step.done"]))
                    .order_by(col(AuditEvent.id)))]

        assert wait_for(lambda: len(confirmations()) == 3 and confirmations()) == [
            ("step.confirmed", "赵一 Zhao Yi", "webchat"), ("step.confirmed", "钱二 Qian Er", "slack"),
            ("step.done", "孙三 Sun San", "telegram")]
        database.dispose()
