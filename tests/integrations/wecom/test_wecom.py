"""The WeCom adapter: wechatpy against the fake qyapi, callbacks encrypted by our own implementation of the spec."""

import base64
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select
from wechatpy.enterprise.crypto import WeChatCrypto

from handlers.ports import Button, MessageRef, OutboundMessage, RateLimited, ThreadRef
from incidents.actors import Actor
from incidents.database import Database
from incidents.lifecycle import Transition
from incidents.tables import AuditEvent, Incident, OutboxMessage
from integrations.outbox_dispatcher import OutboxDispatcher
from integrations.wecom.adapter import WeComChat, WeComClient
from integrations.wecom.inbound import WeComInbound
from integrations.wecom.routes import build_router
from tests.factories import Core, make_core, make_signal, seed_people
from tests.fakes.live_server import live_server
from tests.fakes.wecom_api import FakeWeCom, WeComServer, card_click, text_message

CORP = "ww-corp-1"
SECRET = "wecom-app-secret"
TOKEN = "wecomtoken"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
AGENT = 1000002
WANG = Actor(person_id=1, name="王伟 Wang Wei", roles=("SL",), platform="wecom", platform_user_id="wangwei")


@dataclass
class Rig:
    fake: FakeWeCom
    server: WeComServer
    core: Core
    db: Database
    chat: WeComChat
    inbound: WeComInbound
    dispatcher: OutboxDispatcher
    http: httpx.AsyncClient

    async def deliver(self) -> None:
        while await self.dispatcher.drain_once():
            pass

    async def callback(self, plain_xml: str) -> httpx.Response:
        params, body = self.server.callback(plain_xml)
        response = await self.http.post("/wecom/callback", params=params, content=body)
        await self.inbound.drain()
        return response


@pytest.fixture
def fake() -> Iterator[tuple[FakeWeCom, str]]:
    wecom = FakeWeCom(CORP, SECRET)
    with live_server(wecom.app) as url:
        yield wecom, url


@pytest.fixture
async def rig(fake: tuple[FakeWeCom, str], database_url: str) -> AsyncIterator[Rig]:
    wecom, url = fake
    db = Database(database_url)
    seed_people(db)
    core = make_core(db, platforms=("wecom",))
    client = WeComClient(CORP, SECRET, api_url=f"{url}/cgi-bin/")
    chat = WeComChat(client, db, AGENT)
    inbound = WeComInbound(WeChatCrypto(TOKEN, AES_KEY, CORP), client, AGENT, core.router)
    api = FastAPI()
    api.include_router(build_router(inbound))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://wareroom") as http:
        yield Rig(wecom, WeComServer(TOKEN, AES_KEY, CORP), core, db, chat, inbound,
                  OutboxDispatcher(db, {"wecom": chat}), http)
    db.dispose()


async def _open(rig: Rig) -> tuple[int, str]:
    incident_id = rig.core.flow.on_signal(make_signal())
    assert incident_id is not None
    await rig.deliver()
    return incident_id, next(iter(rig.fake.cards))


def _status(db: Database, incident_id: int) -> str:
    with db.reader() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        return incident.status


def test_our_spec_implementation_and_wechatpy_read_each_other() -> None:
    server, crypto = WeComServer(TOKEN, AES_KEY, CORP), WeChatCrypto(TOKEN, AES_KEY, CORP)
    params, body = server.callback("<xml><Content>你好 hello</Content></xml>")
    assert crypto.decrypt_message(body, params["msg_signature"], params["timestamp"], params["nonce"]) == (
        "<xml><Content>你好 hello</Content></xml>")
    reply = server.open_reply(crypto.encrypt_message("<xml><A>回复</A></xml>", "n1", "1700000000"))
    assert reply.findtext("A") == "回复"


async def test_the_callback_url_is_verified_and_a_bad_signature_refused(rig: Rig) -> None:
    params = rig.server.verification("echo-1234567")
    answer = await rig.http.get("/wecom/callback", params=params)
    assert (answer.status_code, answer.text) == (200, "echo-1234567")
    forged = await rig.http.get("/wecom/callback", params=params | {"msg_signature": "0" * 40})
    assert forged.status_code == 403 and forged.json()["detail"].startswith("签名校验失败")


async def test_an_incident_gets_a_group_chat_and_a_button_card(rig: Rig) -> None:
    incident_id, task_id = await _open(rig)
    assert [c["corpid"] for c in rig.fake.called("gettoken")] == [CORP]
    [created] = rig.fake.called("appchat/create")
    assert created["userlist"] == ["lina", "wangwei", "zhangmin"] and len(created["chatid"]) <= 32
    said = rig.fake.chats[created["chatid"]]["messages"]
    assert said[0]["msgtype"] == "markdown" and said[0]["markdown"]["content"].startswith(f"**🟠 SEV2 #{incident_id} ")
    card = rig.fake.cards[task_id]
    assert card["main_title"]["title"] == f"🟠 SEV2 #{incident_id} 冷库 D1 温度 8.6 °C"
    assert card["button_list"] == [{"text": "确认 Acknowledge", "style": 1, "key": f"v1:ack:{incident_id}"}]
    [sent] = [s for s in rig.fake.called("message/send") if s["template_card"]["task_id"] == task_id]
    assert (sent["touser"], sent["agentid"]) == ("lina|wangwei|zhangmin", AGENT)


async def test_a_card_click_acknowledges_once_and_the_card_shows_who(rig: Rig) -> None:
    incident_id, task_id = await _open(rig)
    click = card_click(user="wangwei", key=f"v1:ack:{incident_id}", task_id=task_id,
                       response_code=rig.fake.issue_code(task_id), corp_id=CORP, at=1_700_000_100)
    params, body = rig.server.callback(click)
    forged = await rig.http.post("/wecom/callback", params=params | {"msg_signature": "f" * 40}, content=body)
    assert forged.status_code == 403 and _status(rig.db, incident_id) == "triggered"
    for _ in range(2):  # WeCom retries a callback it thinks went unanswered
        answer = await rig.http.post("/wecom/callback", params=params, content=body)
        await rig.inbound.drain()
        assert (answer.status_code, answer.text) == (200, "")
    await rig.deliver()
    assert _status(rig.db, incident_id) == "acknowledged"
    with rig.db.reader() as session:
        acked = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.acknowledge")).all()
    assert [(a.actor_name, a.platform, a.platform_user_id) for a in acked] == [("王伟 Wang Wei", "wecom", "wangwei")]
    texts = [s for s in rig.fake.called("message/send") if s["msgtype"] == "text"]
    assert [(t["touser"], t["text"]["content"].split("\n")[0]) for t in texts] == [
        ("wangwei", "王伟 Wang Wei 已确认事件。"), ("wangwei", "该操作已处理。")]
    card = rig.fake.cards[task_id]
    shown = {item["keyname"]: item["value"] for item in card["horizontal_content_list"]}
    assert shown["状态"] == "已确认 Acknowledged" and shown["确认人"].startswith("王伟 Wang Wei · ")
    assert card["button_list"] == [{"text": "解决 Resolve", "style": 2, "key": f"v1:resolve:{incident_id}"}]


async def test_text_commands_get_an_encrypted_passive_reply(rig: Rig) -> None:
    incident_id, _ = await _open(rig)
    replies = []
    for msg_id, content in [(1, "／状态"), (2, "认领"), (3, "认领")]:
        params, body = rig.server.callback(text_message(user="lina", content=content, msg_id=msg_id, corp_id=CORP))
        answer = await rig.http.post("/wecom/callback", params=params, content=body)
        plain = rig.server.open_reply(answer.text)
        assert (plain.findtext("MsgType"), plain.findtext("ToUserName")) == ("text", "lina")
        replies.append(plain.findtext("Content") or "")
    assert replies[0].startswith(f"🟠 SEV2 #{incident_id} 冷库") and "待确认 Triggered" in replies[0]
    assert replies[1:] == ["李娜 Li Na 已确认事件。\n李娜 Li Na acknowledged the incident.",
                           "事件当前为「已确认」，不能执行该操作 / The incident is acknowledged: cannot acknowledge"]
    with rig.db.reader() as session:
        acks = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.acknowledge")).all()
    assert len(acks) == 1 and _status(rig.db, incident_id) == "acknowledged"


async def test_an_unknown_user_is_refused_politely(rig: Rig) -> None:
    incident_id, task_id = await _open(rig)
    click = card_click(user="stranger", key=f"v1:ack:{incident_id}", task_id=task_id, response_code="rc-x",
                       corp_id=CORP, at=1_700_000_200)
    assert (await rig.callback(click)).status_code == 200
    [refusal] = [s for s in rig.fake.called("message/send") if s["msgtype"] == "text"]
    assert refusal["touser"] == "stranger"
    assert refusal["text"]["content"].startswith("抱歉，此聊天账号尚未关联到 WareRoom 人员")
    assert _status(rig.db, incident_id) == "triggered"
    with rig.db.reader() as session:
        refused = session.exec(select(AuditEvent).where(AuditEvent.action == "access.refused")).one()
    assert (refused.platform, refused.platform_user_id, refused.incident_id) == ("wecom", "stranger", incident_id)


async def test_a_malformed_callback_is_refused_with_a_reason(rig: Rig) -> None:
    params, _ = rig.server.callback("<xml/>")
    answer = await rig.http.post("/wecom/callback", params=params, content=b"<xml><Encrypt>")
    assert answer.status_code == 400 and answer.json()["detail"].startswith("请求无法解析")


async def test_45009_becomes_rate_limited_for_a_minute(rig: Rig) -> None:
    await _open(rig)
    [created] = rig.fake.called("appchat/create")
    rig.fake.limited.add("appchat/send")
    with pytest.raises(RateLimited) as raised:
        await rig.chat.post(ThreadRef("wecom", created["chatid"]), OutboundMessage(title="库存 Stock"), key="k1")
    assert raised.value.retry_after == 60.0


async def test_an_unchanged_card_is_not_updated_and_keeps_its_one_use_code(rig: Rig) -> None:
    _, task_id = await _open(rig)
    ref = MessageRef("wecom", f"card:{task_id}")
    acked = OutboundMessage(title="冷库 D1 / Cold room D1", fields=(("状态 Status", "已确认 Acknowledged"),),
                            buttons=(Button("解决 Resolve", "v1:resolve:1"),), incident_id=1)
    for key in ("e1", "e2"):
        assert await rig.chat.update(ref, acked, key=key) == ref
    [update] = rig.fake.called("message/update_template_card")
    assert update["response_code"] == "rc-1" and update["template_card"]["button_list"][0]["key"] == "v1:resolve:1"
    resolved = OutboundMessage(title="冷库 D1 / Cold room D1", fields=(("状态 Status", "已解决 Resolved"),))
    assert await rig.chat.update(ref, resolved, key="e3") == ref  # no code left and no buttons: nothing to send
    assert len(rig.fake.called("message/update_template_card")) == 1


async def test_a_callback_signed_ten_minutes_ago_is_refused_like_slack(rig: Rig) -> None:
    incident_id, task_id = await _open(rig)
    click = card_click(user="wangwei", key=f"v1:ack:{incident_id}", task_id=task_id, response_code="rc-1",
                       corp_id=CORP, at=1_700_000_000)
    old = str(int(time.time()) - 600)
    params, body = rig.server.callback(click, timestamp=old)  # validly signed, but with the old timestamp
    answer = await rig.http.post("/wecom/callback", params=params, content=body)
    assert answer.status_code == 403 and "签名" in answer.json()["detail"]
    verify = await rig.http.get("/wecom/callback", params=rig.server.verification("echo-1") | {"timestamp": old})
    assert verify.status_code == 403
    assert _status(rig.db, incident_id) == "triggered"
    fresh = await rig.callback(click)  # the same click, signed now: it acts
    assert fresh.status_code == 200 and _status(rig.db, incident_id) == "acknowledged"


async def test_events_wareroom_does_not_act_on_are_ignored_quietly(rig: Rig) -> None:
    incident_id, _ = await _open(rig)
    for event in ("enter_agent", "subscribe", "location", "click", "view", "change_contact"):
        xml = (f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[wangwei]]></FromUserName>"
               f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
               f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[k]]></EventKey><AgentID>1000002</AgentID></xml>")
        answer = await rig.callback(xml)
        assert (answer.status_code, answer.text) == (200, ""), event
    image = (f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[wangwei]]></FromUserName>"
             f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
             f"<PicUrl><![CDATA[http://127.0.0.1/p.png]]></PicUrl><MediaId><![CDATA[m1]]></MediaId>"
             f"<MsgId>77</MsgId><AgentID>1000002</AgentID></xml>")
    assert (await rig.callback(image)).status_code == 200
    assert _status(rig.db, incident_id) == "triggered"
    with rig.db.reader() as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "access.refused")).all() == []


async def test_a_card_whose_code_was_spent_elsewhere_is_sent_anew_not_parked(rig: Rig) -> None:
    """An edit interrupted by a crash may have used the card's one-use code: the next edit sends a new card."""
    incident_id, _ = await _open(rig)
    before = len(rig.fake.cards)  # the header's card and the first step's
    rig.fake._codes.clear()  # the codes are spent at WeCom, though our records still have them
    rig.core.flow.change(incident_id=incident_id, change=Transition.ACKNOWLEDGE, actor=WANG)
    await rig.deliver()
    with rig.db.reader() as session:
        assert session.exec(select(OutboxMessage).where(OutboxMessage.status != "sent")).all() == []
    newest = list(rig.fake.cards.values())[-1]
    assert len(rig.fake.cards) == before + 1 and newest["button_list"][0]["key"] == f"v1:resolve:{incident_id}"
