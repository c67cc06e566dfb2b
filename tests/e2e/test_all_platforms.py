"""One excursion on the real Mosquitto → the same incident thread on Slack, Telegram, WeCom and the web chat;
a signed Slack click acknowledges it everywhere, and the audit names the person, the platform and the user id."""

import base64
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import select

from incidents.database import Database
from incidents.tables import AuditEvent
from tests.e2e.server import app_settings, running, wait_for
from tests.factories import seed_people
from tests.fakes.live_server import live_server
from tests.fakes.slack_api import FakeSlack, click_body, signed_headers
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.wecom_api import FakeWeCom

pytestmark = pytest.mark.mosquitto
SLACK_SECRET = "e2e-signing-secret"
WECOM_AES = base64.b64encode(bytes(range(1, 33))).decode().rstrip("=")


def _fakes(stack: ExitStack) -> tuple[FakeSlack, FakeTelegram, FakeWeCom, dict[str, Any]]:
    slack, telegram, wecom = FakeSlack(), FakeTelegram(), FakeWeCom("ww-e2e", "wecom-secret")
    slack_url, telegram_url, wecom_url = (stack.enter_context(live_server(f.app)) for f in (slack, telegram, wecom))
    settings = {
        "slack_bot_token": "xoxb-e2e", "slack_signing_secret": SLACK_SECRET, "slack_channel": "C-OPS",
        "slack_api_url": f"{slack_url}/api", "telegram_bot_token": telegram.token,
        "telegram_chat_id": str(telegram.chat_id), "telegram_webhook_secret": "tg-e2e-secret",
        "telegram_api_url": f"{telegram_url}/bot", "wecom_corp_id": "ww-e2e", "wecom_secret": "wecom-secret",
        "wecom_agent_id": "1000002", "wecom_token": "wecomtoken", "wecom_aes_key": WECOM_AES,
        "wecom_api_url": f"{wecom_url}/cgi-bin/"}
    return slack, telegram, wecom, settings


def _people(url: str) -> None:
    database = Database(url)
    seed_people(database)
    database.dispose()


@pytest.fixture
def publisher() -> Iterator[mqtt.Client]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="")
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    yield client
    client.loop_stop()
    client.disconnect()


def test_one_excursion_one_thread_everywhere_acknowledged_from_slack(
    tmp_path: Path, sqlite_url: str, publisher: mqtt.Client
) -> None:
    _people(sqlite_url)
    with ExitStack() as stack:
        slack, telegram, wecom, chat_settings = _fakes(stack)
        settings = app_settings(tmp_path, sqlite_url, **chat_settings)
        http = stack.enter_context(running(settings))
        time.sleep(0.5)  # the subscription is in place
        for _ in range(8):
            publisher.publish("zigbee2mqtt/d1-probe-1", json.dumps({"temperature": 8.7}).encode(),
                              qos=1).wait_for_publish(5)
            time.sleep(0.4)
        [incident] = wait_for(lambda: http.get("/api/v1/incidents").json())
        incident_id = incident["id"]
        title = f"🟠 SEV2 #{incident_id} "

        # the same thread on every platform
        wait_for(lambda: len(http.get(f"/webchat/incidents/{incident_id}/messages").json()) >= 3)
        root = wait_for(lambda: next((p for p in slack.called("chat.postMessage") if "thread_ts" not in p), None))
        assert root["channel"] == "C-OPS" and root["text"].startswith(title)
        wait_for(lambda: any(p.get("thread_ts") for p in slack.called("chat.postMessage")))
        tg_root = wait_for(lambda: next((m for m in telegram.messages.values() if "reply_to_message" not in m), None))
        assert tg_root["text"].startswith(title)
        task_id = wait_for(lambda: next(iter(wecom.cards), None))
        assert [b["key"] for b in wecom.cards[task_id]["button_list"]] == [f"v1:ack:{incident_id}"]
        assert len(wecom.called("appchat/create")) == 1

        # a signed Slack click acknowledges it
        root_ts = next(ts for (_, ts), m in slack.messages.items() if m["thread_ts"] is None)
        body = click_body(user="U-wangwei", channel="C-OPS", message_ts=root_ts, token=f"v1:ack:{incident_id}",
                          action_ts="1700000700.1")
        answer = http.post("/slack/events", content=body,
                           headers=signed_headers(body, SLACK_SECRET, "application/x-www-form-urlencoded"))
        assert answer.status_code == 200

        # every platform shows who acknowledged
        wait_for(lambda: "王伟 Wang Wei" in telegram.messages[tg_root["message_id"]]["text"])
        tg_header = telegram.messages[tg_root["message_id"]]
        assert "已确认 Acknowledged" in tg_header["text"]
        assert tg_header["reply_markup"]["inline_keyboard"][0][0]["text"] == "解决 Resolve"
        # the header card is updated in place, or sent anew when a join used up its one-use response code
        card = wait_for(lambda: next((c for c in wecom.cards.values() if c["main_title"]["title"].startswith(title)
                                      and any(i["keyname"] == "确认人" for i in c["horizontal_content_list"])), None))
        shown = {i["keyname"]: i["value"] for i in card["horizontal_content_list"]}
        assert shown["确认人"].startswith("王伟 Wang Wei · ") and shown["状态"] == "已确认 Acknowledged"
        wait_for(lambda: "王伟 Wang Wei" in str(slack.messages[("C-OPS", root_ts)]["blocks"]))
        header = wait_for(lambda: next((m for m in http.get(f"/webchat/incidents/{incident_id}/messages").json()
                                        if m["header"] and "王伟 Wang Wei" in json.dumps(m, ensure_ascii=False)),
                                       None))
        assert header["buttons"][0]["label"] == "解决 Resolve"
        [ephemeral] = slack.called("chat.postEphemeral")
        assert ephemeral["user"] == "U-wangwei" and ephemeral["text"].startswith("王伟 Wang Wei 已确认事件。")

    database = Database(sqlite_url)
    with database.reader() as session:
        [acked] = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.acknowledge")).all()
    database.dispose()
    assert (acked.incident_id, acked.actor_name, acked.platform, acked.platform_user_id) == (
        incident_id, "王伟 Wang Wei", "slack", "U-wangwei")
