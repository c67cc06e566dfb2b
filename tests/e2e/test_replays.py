"""Replays never take effect twice (issue 16 §5), through the running app: every kind of state-changing request
(clicks, slash commands, thread or text commands) on every platform, sent twice as the platform signed it,
has one effect; Slack's retry of an event never seen acts once (case 16)."""

import json
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from incidents import directory
from incidents.database import Database
from incidents.silences import Silence
from incidents.tables import AuditEvent
from tests.decode.corpus import REAL
from tests.e2e.server import act_as, app_settings, running, wait_for
from tests.e2e.test_all_platforms import SLACK_SECRET, WECOM_AES, _fakes
from tests.factories import seed_people
from tests.fakes.slack_api import click_body, command_body, signed_headers, thread_message_body
from tests.fakes.telegram_api import callback_update, text_update, user
from tests.fakes.wecom_api import WeComServer, card_click, text_message

pytestmark = pytest.mark.mosquitto
FORM = "application/x-www-form-urlencoded"
WANG_TG = user(1001, "Wei")


def _alert(n: int) -> dict[str, Any]:
    return {"title": {"zh": f"冷库 D1 压缩机故障 {n}", "en": f"Cold room D1 compressor failure {n}"},
            "severity": "SEV2", "dedup_key": f"replay-{n}", "labels": {"site": "SH-01", "zone": "D1"}}


def _counts(database: Database) -> tuple[list[str], list[int | None]]:
    with database.reader() as session:
        silences = [s.comment for s in session.exec(select(Silence).order_by(col(Silence.id)))]
        acks = [a.incident_id for a in session.exec(select(AuditEvent).where(
            AuditEvent.action == "incident.acknowledge").order_by(col(AuditEvent.incident_id)))]
    return silences, acks


def _all_arrived(database: Database) -> bool:
    silences, acks = _counts(database)
    return len(silences) >= 5 and len(acks) >= 4


def test_every_command_kind_on_every_platform_takes_effect_once(tmp_path: Path, database_url: str) -> None:
    database = Database(database_url)
    seed_people(database)
    with ExitStack() as stack:
        slack, telegram, wecom, chat_settings = _fakes(stack)
        http = stack.enter_context(running(app_settings(tmp_path, database_url, **chat_settings)))
        incidents = [http.post("/api/v1/alerts", json=_alert(n)).json()["incidents"][0] for n in range(4)]
        wait_for(lambda: len(wecom.cards) >= 4 and len([p for p in slack.called("chat.postMessage")
                                                        if "thread_ts" not in p]) == 4)
        on_slack, on_telegram, on_wecom, on_web = incidents
        slack_root = next(ts for (_, ts), m in slack.messages.items()
                          if m["thread_ts"] is None and f"#{on_slack} " in m["text"])
        tg_root = next(m for m in telegram.messages.values() if f"#{on_telegram} " in m["text"])
        card = next(t for t, c in wecom.cards.items() if c["button_list"][0]["key"] == f"v1:ack:{on_wecom}")
        server = WeComServer("wecomtoken", WECOM_AES, "ww-e2e")

        def twice(send: Any) -> None:
            for _ in range(2):
                assert send().status_code == 200

        def slack_post(body: str, content_type: str = FORM, **extra: str) -> Any:
            headers = signed_headers(body, SLACK_SECRET, content_type)
            return lambda: http.post("/slack/events", content=body, headers=headers | extra)

        def telegram_post(update: dict[str, Any]) -> Any:
            return lambda: http.post("/telegram/webhook", json=update,
                                     headers={"X-Telegram-Bot-Api-Secret-Token": "tg-e2e-secret"})

        def wecom_post(xml: str) -> Any:
            params, body = server.callback(xml)
            return lambda: http.post("/wecom/callback", params=params, content=body)

        hook = f"{chat_settings['slack_api_url'].removesuffix('/api')}/hooks/1"
        twice(slack_post(click_body(user="U-wangwei", channel="C-OPS", message_ts=slack_root,
                                    token=f"v1:ack:{on_slack}", action_ts="1700000800.1")))
        twice(slack_post(command_body(user="U-wangwei", command="/silence", text="D1 30m slack-slash",
                                      response_url=hook, trigger="trig-1")))
        thread_event = thread_message_body(event_id="Ev-replay-1", user="U-wangwei", channel="C-OPS",
                                           thread_ts=slack_root, text="/silence D1 30m slack-thread")
        twice(slack_post(thread_event, "application/json"))
        retried = slack_post(thread_event, "application/json", **{"X-Slack-Retry-Num": "1",
                                                                   "X-Slack-Retry-Reason": "http_timeout"})
        assert retried().status_code == 200
        twice(telegram_post(callback_update(7001, sender=WANG_TG, message=tg_root, data=f"v1:ack:{on_telegram}")))
        twice(telegram_post(text_update(7002, sender=WANG_TG, chat=tg_root["chat"],
                                        text="/silence D1 30m tg-command")))
        twice(wecom_post(card_click(user="wangwei", key=f"v1:ack:{on_wecom}", task_id=card, response_code="rc-x",
                                    corp_id="ww-e2e", at=int(time.time()))))
        twice(wecom_post(text_message(user="wangwei", content="/silence D1 30m wecom-text", msg_id=99,
                                      corp_id="ww-e2e")))
        wang = act_as(database_url, "wangwei")  # a signed-in person's token: serve has no pick-a-person
        twice(lambda: http.post("/webchat/click", json={"token": f"v1:ack:{on_web}", "event_id": "web-1"},
                                headers=wang))
        twice(lambda: http.post("/webchat/command", json={"text": "/silence D1 30m web", "event_id": "web-2"},
                                headers=wang))
        wait_for(lambda: _all_arrived(database))
        silences, acks = _counts(database)
        time.sleep(1.0)  # anything still on its way would land now
    assert _counts(database) == (silences, acks)
    assert sorted(silences) == ["slack-slash", "slack-thread", "tg-command", "web", "wecom-text"]
    assert acks == sorted(incidents)
    database.dispose()


def test_case_16_a_slack_retry_of_an_event_never_seen_is_processed_once(tmp_path: Path, sqlite_url: str) -> None:
    """``X-Slack-Retry-Num: 1`` for reason ``http_error``: the first delivery failed on our side, so this one acts."""
    database = Database(sqlite_url)
    seed_people(database)
    with database.unit_of_work() as session:
        directory.add_person(session, name_zh="测试员", name_en="Bug Hunter", roles=["SL"],
                             identities=[("slack", "U0BUGHUNT")])
    body = (REAL / "slack" / "case-16-retry-after-http-error.json").read_text(encoding="utf-8").strip()
    assert json.loads(body)["event_id"] == "Ev0BUGHUNT03"
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
    with ExitStack() as stack:
        slack, _, _, chat_settings = _fakes(stack)
        http = stack.enter_context(running(app_settings(tmp_path, sqlite_url, **chat_settings)))
        for number in ("1", "2"):  # the retry, then Slack's next retry of the same event
            headers = signed_headers(body, SLACK_SECRET, "application/json") | retry | {"X-Slack-Retry-Num": number}
            assert http.post("/slack/events", content=body, headers=headers).status_code == 200
            wait_for(lambda n=int(number): len(slack.called("chat.postEphemeral")) == n)
    first, second = slack.called("chat.postEphemeral")
    assert (first["user"], first["channel"], first["thread_ts"]) == ("U0BUGHUNT", "C0OPS", "1700000000.000200")
    assert first["text"] == "当前没有未解决的事件。\nNo open incidents."  # /status answered
    assert second["text"] == "该操作已处理。\nThis action was already processed."
    database.dispose()
