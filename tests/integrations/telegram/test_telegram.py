"""The Telegram adapter: python-telegram-bot against the fake Bot API on loopback, through the real core."""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select
from telegram import Bot

from handlers.ports import MessageRef, OutboundMessage, RateLimited, ThreadRef
from incidents.database import Database
from incidents.tables import AuditEvent, Incident
from integrations.outbound import RateLimitedChat
from integrations.outbox_dispatcher import OutboxDispatcher
from integrations.telegram.adapter import TelegramChat
from integrations.telegram.inbound import TelegramInbound
from integrations.telegram.routes import build_router
from tests.factories import Core, make_core, make_signal, seed_people
from tests.fakes.live_server import live_server
from tests.fakes.telegram_api import FakeTelegram, callback_update, pinned_update, reaction_update, text_update, user

SECRET = "tg-webhook-secret_1"
WANG = user(1001, "Wei")
STRANGER = user(666, "Nobody")


@dataclass
class Rig:
    fake: FakeTelegram
    core: Core
    db: Database
    chat: TelegramChat
    dispatcher: OutboxDispatcher
    http: httpx.AsyncClient

    async def deliver(self) -> None:
        while await self.dispatcher.drain_once():
            pass

    async def send(self, update: dict[str, Any], secret: str = SECRET) -> httpx.Response:
        return await self.http.post("/telegram/webhook", json=update,
                                    headers={"X-Telegram-Bot-Api-Secret-Token": secret})


@pytest.fixture(params=[False, True], ids=["reply-chain", "forum"])
def fake(request: pytest.FixtureRequest) -> Iterator[tuple[FakeTelegram, str]]:
    telegram = FakeTelegram(is_forum=request.param)
    with live_server(telegram.app) as url:
        yield telegram, url


@pytest.fixture
async def rig(fake: tuple[FakeTelegram, str], sqlite_url: str) -> AsyncIterator[Rig]:
    telegram, url = fake
    db = Database(sqlite_url)
    seed_people(db)
    core = make_core(db, platforms=("telegram",))
    bot = Bot(telegram.token, base_url=f"{url}/bot")
    await bot.initialize()
    chat = TelegramChat(bot, str(telegram.chat_id))
    api = FastAPI()
    api.include_router(build_router(TelegramInbound(bot, core.router), SECRET))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://wareroom") as http:
        yield Rig(telegram, core, db, chat, OutboxDispatcher(db, {"telegram": RateLimitedChat(chat)}), http)
    await bot.shutdown()
    db.dispose()


async def _open(rig: Rig) -> tuple[int, dict[str, Any]]:
    incident_id = rig.core.flow.on_signal(make_signal())
    assert incident_id is not None
    await rig.deliver()
    root = rig.fake.messages[min(rig.fake.messages)]
    return incident_id, root


def _status(db: Database, incident_id: int) -> str:
    with db.reader() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        return incident.status


async def test_an_incident_gets_a_topic_or_a_reply_chain_with_an_inline_keyboard(rig: Rig) -> None:
    incident_id, root = await _open(rig)
    sends = rig.fake.called("sendMessage")
    assert root["reply_markup"] == {"inline_keyboard": [[{"text": "确认 Acknowledge",
                                                          "callback_data": f"v1:ack:{incident_id}"}]]}
    assert sends[0]["parse_mode"] == "HTML" and sends[0]["text"].startswith(f"<b>🟠 SEV2 #{incident_id} ")
    if rig.fake.is_forum:
        [topic] = rig.fake.called("createForumTopic")
        assert topic["name"] == f"🟠 SEV2 #{incident_id} 冷库 D1 温度 8.6 °C / Cold room D1 at 8.6 °C"
        assert {s["message_thread_id"] for s in sends} == {root["message_thread_id"]}
    else:
        assert rig.fake.called("createForumTopic") == []
        assert [s["reply_parameters"]["message_id"] for s in sends[1:]] == [root["message_id"]] * (len(sends) - 1)


async def test_a_button_press_is_answered_and_the_header_keeps_a_keyboard(rig: Rig) -> None:
    incident_id, root = await _open(rig)
    press = callback_update(77, sender=WANG, message=root, data=f"v1:ack:{incident_id}")
    assert (await rig.send(press)).status_code == 200
    assert (await rig.send(press)).status_code == 200  # Telegram redelivers the same update
    first, second = rig.fake.called("answerCallbackQuery")
    assert (first["callback_query_id"], first["text"]) == (
        "cbq-77", "王伟 Wang Wei 已确认事件。\n王伟 Wang Wei acknowledged the incident.")
    assert second["text"].startswith("该操作已处理。")
    await rig.deliver()
    assert _status(rig.db, incident_id) == "acknowledged"
    with rig.db.reader() as session:
        acked = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.acknowledge")).all()
    assert [(a.actor_name, a.platform, a.platform_user_id) for a in acked] == [("王伟 Wang Wei", "telegram", "1001")]
    edited = rig.fake.messages[root["message_id"]]
    assert "王伟 Wang Wei" in edited["text"] and "已确认 Acknowledged" in edited["text"]
    assert edited["reply_markup"] == {"inline_keyboard": [[{"text": "解决 Resolve",
                                                            "callback_data": f"v1:resolve:{incident_id}"}]]}


async def test_a_wrong_secret_is_refused_and_nothing_happens(rig: Rig) -> None:
    incident_id, root = await _open(rig)
    calls = len(rig.fake.calls)
    press = callback_update(78, sender=WANG, message=root, data=f"v1:ack:{incident_id}")
    assert (await rig.send(press, secret="guessed")).status_code == 403
    bad = await rig.http.post("/telegram/webhook", content=b"{not json",
                              headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("请求无法解析")
    assert len(rig.fake.calls) == calls and _status(rig.db, incident_id) == "triggered"


async def test_commands_in_the_group_and_the_thread(rig: Rig) -> None:
    incident_id, root = await _open(rig)
    chat = root["chat"]
    in_thread = {"thread_id": root["message_thread_id"]} if rig.fake.is_forum else {"reply_to": root}
    await rig.send(text_update(80, sender=WANG, chat=chat, text="/frobnicate@wareroom_bot SKU-2"))
    await rig.send(text_update(81, sender=WANG, chat=chat, text="/stock@other_bot SKU-2"))
    await rig.send(text_update(82, sender=STRANGER, chat=chat, text="认领", **in_thread))
    await rig.send(text_update(83, sender=WANG, chat=chat, text="／认领", **in_thread))
    replies = [s for s in rig.fake.called("sendMessage") if s["text"] and not s["text"].startswith("<b>")]
    assert [(r["reply_parameters"]["message_id"], r["text"].split("\n")[0]) for r in replies] == [
        (5080, "未知命令「frobnicate」。输入 /help 查看可用命令。"),
        (5082, "抱歉，此聊天账号尚未关联到 WareRoom 人员，操作已拒绝。"
               "请登录网页版，在「我的账号」获取关联码，然后在此发送 /link 关联码。"),
        (5083, "王伟 Wang Wei 已确认事件。")]
    assert _status(rig.db, incident_id) == "acknowledged"


async def test_an_unknown_user_pressing_a_button_sees_the_refusal_as_an_alert(rig: Rig) -> None:
    incident_id, root = await _open(rig)
    await rig.send(callback_update(90, sender=STRANGER, message=root, data=f"v1:ack:{incident_id}"))
    [answer] = rig.fake.called("answerCallbackQuery")
    assert answer["show_alert"] == "true" and answer["text"].startswith("抱歉，此聊天账号尚未关联到 WareRoom 人员")
    assert _status(rig.db, incident_id) == "triggered"
    with rig.db.reader() as session:
        refused = session.exec(select(AuditEvent).where(AuditEvent.action == "access.refused")).one()
    assert (refused.platform, refused.platform_user_id, refused.incident_id) == ("telegram", "666", incident_id)


async def test_not_modified_is_success_and_429_becomes_rate_limited(rig: Rig) -> None:
    _, root = await _open(rig)
    ref = MessageRef("telegram", f"{rig.fake.chat_id}:{root['message_id']}")
    same = OutboundMessage(title="Same", body="text")
    assert await rig.chat.update(ref, same, key="e1") == ref
    assert await rig.chat.update(ref, same, key="e2") == ref
    assert len(rig.fake.called("editMessageText")) == 2
    rig.fake.rate_limited["sendMessage"] = 12
    with pytest.raises(RateLimited) as raised:
        await rig.chat.post(ThreadRef("telegram", f"{rig.fake.chat_id}:r{root['message_id']}"), same, key="p1")
    assert raised.value.retry_after == 12.0


async def test_edits_member_changes_and_channel_posts_are_ignored_quietly(rig: Rig) -> None:
    incident_id, root = await _open(rig)
    chat = root["chat"]
    in_thread = {"thread_id": root["message_thread_id"]} if rig.fake.is_forum else {"reply_to": root}
    edited = text_update(90, sender=WANG, chat=chat, text="认领", **in_thread)
    edited["edited_message"] = edited.pop("message") | {"edit_date": 1_700_000_100}
    member = {"update_id": 91, "my_chat_member": {
        "chat": chat, "from": WANG, "date": 1_700_000_000,
        "old_chat_member": {"status": "member", "user": {"id": 4242, "is_bot": True, "first_name": "WareRoom"}},
        "new_chat_member": {"status": "administrator", "user": {"id": 4242, "is_bot": True, "first_name": "WareRoom"},
                            "can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
                            "can_delete_messages": True, "can_manage_video_chats": True, "can_restrict_members": True,
                            "can_promote_members": False, "can_change_info": True, "can_invite_users": True,
                            "can_post_stories": False, "can_edit_stories": False, "can_delete_stories": False}}}
    channel_post = {"update_id": 92, "channel_post": {"message_id": 7, "date": 1_700_000_000, "text": "/ack",
                                                      "chat": {"id": -100777, "type": "channel", "title": "News"}}}
    sent_before = len(rig.fake.calls)
    for update in (edited, member, channel_post):
        assert (await rig.send(update)).status_code == 200
    assert len(rig.fake.calls) == sent_before  # no answer, no error reply
    assert _status(rig.db, incident_id) == "triggered"
    # the command itself, sent as a new message, acts
    assert (await rig.send(text_update(93, sender=WANG, chat=chat, text="认领", **in_thread))).status_code == 200
    assert _status(rig.db, incident_id) == "acknowledged"


# the thread becomes the timeline (issue 11, item 8): pins and agreed reactions

LINA = user(1002, "Na")


def _timeline_notes(rig: Rig) -> list[tuple[str | None, str, str]]:
    with rig.db.reader() as session:
        return [(e.platform_user_id, e.after["text"], e.after["source"]) for e in session.exec(
            select(AuditEvent).where(AuditEvent.action == "incident.note").order_by(col(AuditEvent.id))) if e.after]


async def test_a_writing_hand_reaction_and_a_pin_add_to_the_timeline(rig: Rig) -> None:
    _incident_id, root = await _open(rig)
    chat = root["chat"]
    notice = next(m for i, m in sorted(rig.fake.messages.items()) if i != root["message_id"])  # the "opened" notice
    assert (await rig.send(reaction_update(90, sender=WANG, chat=chat, message_id=notice["message_id"],
                                           emoji="✍"))).status_code == 200
    assert (await rig.send(reaction_update(91, sender=WANG, chat=chat, message_id=notice["message_id"],
                                           emoji="👍"))).status_code == 200  # not the agreed emoji
    in_thread = {"thread_id": root["message_thread_id"]} if rig.fake.is_forum else {"reply_to": root}
    typed = text_update(92, sender=LINA, chat=chat, text="压缩机已重启 compressor restarted", **in_thread)["message"]
    assert (await rig.send(pinned_update(93, sender=LINA, chat=chat, pinned=typed))).status_code == 200
    notes = _timeline_notes(rig)
    assert [(who, source) for who, _, source in notes] == [("1001", "reaction"), ("1002", "pin")]
    assert notes[0][1].startswith("✍ ") and "新事件" in notes[0][1]
    assert notes[1][1] == "📌 压缩机已重启 compressor restarted"
