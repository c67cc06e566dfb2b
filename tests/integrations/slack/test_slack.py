"""The Slack adapter: slack_sdk and slack-bolt against the fake Slack on loopback, through the real core."""

import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import col, select

from incidents import audit
from incidents.database import Database
from incidents.tables import AuditEvent, Incident, OutboxMessage
from integrations.outbound import RateLimitedChat
from integrations.outbox_dispatcher import OutboxDispatcher
from integrations.slack.adapter import SlackChat
from integrations.slack.inbound import build_app
from integrations.slack.routes import build_router
from tests.factories import Core, make_core, make_signal, seed_people
from tests.fakes.live_server import live_server
from tests.fakes.slack_api import (
    FakeSlack,
    click_body,
    command_body,
    pin_added_body,
    reaction_added_body,
    signed_headers,
    thread_message_body,
)

SECRET = "slack-signing-secret"
CHANNEL = "C-OPS"
FORM = "application/x-www-form-urlencoded"


@dataclass
class Rig:
    fake: FakeSlack
    url: str
    core: Core
    db: Database
    port: RateLimitedChat
    dispatcher: OutboxDispatcher
    http: httpx.AsyncClient

    async def deliver(self) -> None:
        while await self.dispatcher.drain_once():
            pass

    async def post(self, body: str, content_type: str = FORM, **extra: str) -> httpx.Response:
        headers = signed_headers(body, SECRET, content_type) | extra
        return await self.http.post("/slack/events", content=body, headers=headers)


@pytest.fixture
def fake() -> Iterator[tuple[FakeSlack, str]]:
    slack = FakeSlack()
    with live_server(slack.app) as url:
        yield slack, url


@pytest.fixture
async def rig(fake: tuple[FakeSlack, str], sqlite_url: str) -> AsyncIterator[Rig]:
    slack, url = fake
    db = Database(sqlite_url)
    seed_people(db)
    core = make_core(db, platforms=("slack",))
    client = AsyncWebClient(token="xoxb-test", base_url=f"{url}/api/")
    port = RateLimitedChat(SlackChat(client, CHANNEL), public_url="https://wareroom.example")
    api = FastAPI()
    api.include_router(build_router(build_app(client, SECRET, core.router, process_before_response=True)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://wareroom") as http:
        yield Rig(slack, url, core, db, port, OutboxDispatcher(db, {"slack": port}), http)
    db.dispose()


async def _open(rig: Rig) -> tuple[int, str]:
    incident_id = rig.core.flow.on_signal(make_signal())
    assert incident_id is not None
    await rig.deliver()
    return incident_id, rig.fake.called("chat.postMessage")[0]["channel"]


def _root_ts(rig: Rig) -> str:
    return next(ts for (_, ts), m in rig.fake.messages.items() if m["thread_ts"] is None)


def _status(db: Database, incident_id: int) -> str:
    with db.reader() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        return incident.status


def _audits(db: Database, action: str) -> list[AuditEvent]:
    with db.reader() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))))


async def test_the_incident_root_has_buttons_and_the_conversation_is_in_its_thread(rig: Rig) -> None:
    incident_id, channel = await _open(rig)
    posts = rig.fake.called("chat.postMessage")
    root = posts[0]
    assert channel == CHANNEL and "thread_ts" not in root
    actions = [b for b in root["blocks"] if b["type"] == "actions"]
    assert [(e["text"]["text"], e["value"], e["style"]) for e in actions[0]["elements"]] == [
        ("确认 Acknowledge", f"v1:ack:{incident_id}", "primary")]
    assert root["text"].startswith(f"🟠 SEV2 #{incident_id} 冷库 D1 温度 8.6 °C / Cold room D1 at 8.6 °C")
    root_ts = _root_ts(rig)
    assert len(posts) >= 3 and all(p["thread_ts"] == root_ts for p in posts[1:])
    assert posts[1]["text"].startswith("新事件") and "班组长 (SL)" in posts[1]["text"]


async def test_a_signed_click_acknowledges_once_and_a_forged_or_stale_one_changes_nothing(rig: Rig) -> None:
    incident_id, channel = await _open(rig)
    root_ts = _root_ts(rig)
    body = click_body(user="U-wangwei", channel=channel, message_ts=root_ts, token=f"v1:ack:{incident_id}",
                      action_ts="1700000500.1")
    forged = signed_headers(body, "not-the-secret", FORM)
    assert (await rig.http.post("/slack/events", content=body, headers=forged)).status_code == 401
    stale = signed_headers(body, SECRET, FORM, ts=int(time.time()) - 301)
    assert (await rig.http.post("/slack/events", content=body, headers=stale)).status_code == 401
    assert _status(rig.db, incident_id) == "triggered"
    assert rig.fake.called("chat.postEphemeral") == []

    assert (await rig.post(body)).status_code == 200
    assert (await rig.post(body)).status_code == 200  # the same interaction delivered twice
    await rig.deliver()
    assert _status(rig.db, incident_id) == "acknowledged"
    [acked] = _audits(rig.db, "incident.acknowledge")
    assert (acked.actor_name, acked.platform, acked.platform_user_id) == ("王伟 Wang Wei", "slack", "U-wangwei")
    ephemeral = rig.fake.called("chat.postEphemeral")
    assert [(e["user"], e["thread_ts"]) for e in ephemeral] == [("U-wangwei", root_ts)] * 2
    assert ephemeral[0]["text"] == "王伟 Wang Wei 已确认事件。\n王伟 Wang Wei acknowledged the incident."
    assert ephemeral[1]["text"] == "该操作已处理。\nThis action was already processed."
    [update] = [u for u in rig.fake.called("chat.update") if u["ts"] == root_ts]
    assert "王伟 Wang Wei" in str(update["blocks"]) and "已确认 Acknowledged" in update["text"]
    assert [e["value"] for b in update["blocks"] if b["type"] == "actions" for e in b["elements"]] == [
        f"v1:resolve:{incident_id}"]


async def test_a_retried_thread_event_has_no_second_effect(rig: Rig) -> None:
    incident_id, channel = await _open(rig)
    body = thread_message_body(event_id="Ev1", user="U-lina", channel=channel, thread_ts=_root_ts(rig), text="认领")
    assert (await rig.post(body, "application/json")).status_code == 200
    retry_headers = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert (await rig.post(body, "application/json", **retry_headers)).status_code == 200
    assert (await rig.post(body, "application/json")).status_code == 200  # redelivered without the header
    assert _status(rig.db, incident_id) == "acknowledged"
    assert [a.platform_user_id for a in _audits(rig.db, "incident.acknowledge")] == ["U-lina"]
    assert [e["text"].split("\n")[0] for e in rig.fake.called("chat.postEphemeral")] == [
        "李娜 Li Na 已确认事件。", "该操作已处理。", "该操作已处理。"]


async def test_slash_commands_are_answered_and_unknown_ones_get_the_polite_reply(rig: Rig) -> None:
    incident_id, _ = await _open(rig)
    hook = f"{rig.url}/hooks/1"
    for trigger, command, text in [("t1", "/frobnicate", "SKU-1"), ("t2", "/status", str(incident_id)),
                                   ("t3", "/ack", f"#{incident_id}")]:
        response = await rig.post(command_body(user="U-zhangmin", command=command, text=text, response_url=hook,
                                               trigger=trigger))
        assert response.status_code == 200
    unknown, status, ack = rig.fake.hooks
    assert unknown == {"text": "未知命令「frobnicate」。输入 /help 查看可用命令。\n"
                             "Unknown command \"frobnicate\". Type /help for the list.", "response_type": "ephemeral"}
    assert "待确认 Triggered" in status["text"]
    assert ack["text"].startswith("张敏 Zhang Min 已确认事件。")
    assert _status(rig.db, incident_id) == "acknowledged"


async def test_an_unknown_user_is_refused_politely_and_the_refusal_is_audited(rig: Rig) -> None:
    incident_id, channel = await _open(rig)
    root_ts = _root_ts(rig)
    body = click_body(user="U-stranger", channel=channel, message_ts=root_ts, token=f"v1:ack:{incident_id}",
                      action_ts="1700000600.1")
    assert (await rig.post(body)).status_code == 200
    [ephemeral] = rig.fake.called("chat.postEphemeral")
    assert ephemeral["user"] == "U-stranger"
    assert ephemeral["text"].startswith("抱歉，此聊天账号尚未关联到 WareRoom 人员")
    assert _status(rig.db, incident_id) == "triggered"
    [refused] = _audits(rig.db, "access.refused")
    assert (refused.platform, refused.platform_user_id, refused.incident_id) == ("slack", "U-stranger", incident_id)
    with rig.db.reader() as session:
        assert audit.verify_chain(session).ok


async def test_a_429_backs_off_for_retry_after_and_the_message_is_delivered_later(rig: Rig) -> None:
    rig.fake.rate_limited["chat.postMessage"] = 30
    incident_id = rig.core.flow.on_signal(make_signal())
    assert incident_id is not None
    assert await rig.dispatcher.drain_once() == 0
    with rig.db.reader() as session:
        row = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).first()
        assert row is not None
    assert row.status == "pending" and row.last_error is not None and "retry after 30.0s" in row.last_error
    assert 25 < (row.next_attempt_at - row.created_at).total_seconds() < 40
    assert rig.port.wait_for(CHANNEL) > 25  # the channel's bucket is blocked too
    with rig.db.unit_of_work() as session:
        fresh = session.get(OutboxMessage, row.id)
        assert fresh is not None
        fresh.next_attempt_at = fresh.created_at
        session.add(fresh)
    assert await rig.dispatcher.drain_once() == 0  # our own budget still holds it back
    assert [c.method for c in rig.fake.calls] == ["chat.postMessage"]


async def test_a_reply_also_sent_to_the_channel_is_a_command_and_edits_are_not(rig: Rig) -> None:
    incident_id, channel = await _open(rig)
    edited = json.loads(thread_message_body(event_id="Ev-edit", user="U-lina", channel=channel,
                                            thread_ts=_root_ts(rig), text="认领"))
    edited["event"] = {"type": "message", "subtype": "message_changed", "channel": channel, "hidden": True,
                       "message": edited["event"] | {"edited": {"user": "U-lina", "ts": "1700001000.000100"}},
                       "ts": "1700001000.000200"}
    assert (await rig.post(json.dumps(edited), "application/json")).status_code == 200
    assert _status(rig.db, incident_id) == "triggered"
    broadcast = json.loads(thread_message_body(event_id="Ev-broadcast", user="U-lina", channel=channel,
                                               thread_ts=_root_ts(rig), text="认领"))
    broadcast["event"]["subtype"] = "thread_broadcast"
    assert (await rig.post(json.dumps(broadcast), "application/json")).status_code == 200
    assert _status(rig.db, incident_id) == "acknowledged"
    assert [e["text"].split("\n")[0] for e in rig.fake.called("chat.postEphemeral")] == ["李娜 Li Na 已确认事件。"]


async def test_events_and_interactions_wareroom_does_not_act_on_are_answered_200_and_ignored(rig: Rig) -> None:
    incident_id, channel = await _open(rig)
    root = _root_ts(rig)
    events: list[dict[str, Any]] = [
        {"type": "app_mention", "user": "U-lina", "text": "<@UBOT> 认领", "channel": channel, "ts": root},
        {"type": "reaction_added", "user": "U-lina", "reaction": "eyes",
         "item": {"type": "message", "channel": channel, "ts": root}},
        {"type": "member_joined_channel", "user": "U-lina", "channel": channel}]
    for number, event in enumerate(events):
        body = json.loads(thread_message_body(event_id=f"Ev-other-{number}", user="U-lina", channel=channel,
                                              thread_ts=root, text=""))
        body["event"] = event
        assert (await rig.post(json.dumps(body), "application/json")).status_code == 200, event["type"]
    shortcut = {"type": "shortcut", "callback_id": "someone_elses", "trigger_id": "t", "team": {"id": "T1"},
                "user": {"id": "U-lina"}, "token": "legacy"}
    assert (await rig.post(urlencode({"payload": json.dumps(shortcut)}))).status_code == 200
    assert _status(rig.db, incident_id) == "triggered" and rig.fake.called("chat.postEphemeral") == []


# the thread becomes the timeline (issue 11, item 8): pins and agreed reactions

def _timeline_notes(rig: Rig) -> list[tuple[str | None, str, str]]:
    with rig.db.reader() as session:
        return [(e.platform_user_id, e.after["text"], e.after["source"]) for e in session.exec(
            select(AuditEvent).where(AuditEvent.action == "incident.note").order_by(col(AuditEvent.id))) if e.after]


async def test_a_memo_reaction_and_a_pin_add_thread_messages_to_the_timeline(rig: Rig) -> None:
    incident_id, channel = await _open(rig)
    root = _root_ts(rig)
    said = rig.fake.user_message(channel=channel, thread_ts=root, user="U-lina", text="门封条已更换 door seal replaced")
    body = reaction_added_body(event_id="EvR1", user="U-wangwei", channel=channel, ts=said["ts"], reaction="memo")
    assert (await rig.post(body, "application/json")).status_code == 200
    assert (await rig.post(body, "application/json", **{"X-Slack-Retry-Num": "1"})).status_code == 200
    other = reaction_added_body(event_id="EvR2", user="U-wangwei", channel=channel, ts=said["ts"], reaction="tada")
    assert (await rig.post(other, "application/json")).status_code == 200  # not an agreed emoji
    pinned = rig.fake.user_message(channel=channel, thread_ts=root, user="U-zhangmin", text="QA hold on lot L26")
    pin = pin_added_body(event_id="EvP1", user="U-zhangmin", channel=channel, message=pinned)
    assert (await rig.post(pin, "application/json")).status_code == 200
    outside = pin_added_body(event_id="EvP2", user="U-zhangmin", channel=channel,
                             message={"type": "message", "ts": "1600000000.000100", "text": "lunch?", "user": "U-x"})
    assert (await rig.post(outside, "application/json")).status_code == 200  # not in an incident thread
    # once each: the retried delivery of the reaction did nothing
    assert _timeline_notes(rig) == [("U-wangwei", "✍ 门封条已更换 door seal replaced", "reaction"),
                           ("U-zhangmin", "📌 QA hold on lot L26", "pin")]
    await rig.deliver()
    echoed = [p["text"] for p in rig.fake.called("chat.postMessage") if "timeline" in p["text"]]
    assert len(echoed) == 2 and incident_id > 0
