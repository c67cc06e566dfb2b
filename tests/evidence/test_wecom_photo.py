"""An image sent to the WeCom app during an incident: media/get by its MediaId, the step done with its hash."""

import base64
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from wechatpy.enterprise.crypto import WeChatCrypto

from incidents.database import Database
from incidents.evidence.images import EvidencePolicy
from incidents.evidence.store import LocalStore
from integrations.outbox_dispatcher import OutboxDispatcher
from integrations.wecom.adapter import WeComChat, WeComClient
from integrations.wecom.inbound import WeComInbound
from integrations.wecom.routes import build_router
from tests.evidence.pictures import big_jpeg, camera_jpeg, pdf_named_jpg
from tests.evidence.support import (
    assert_refused_and_open,
    assert_review_html_shows,
    assert_review_pdf_shows,
    assert_step_has_one_photo,
    contain_is_open,
    declare_misshipment,
    review_documents,
    stored_files,
)
from tests.factories import Core, make_core, seed_people
from tests.fakes.live_server import live_server
from tests.fakes.wecom_api import FakeWeCom, WeComServer, image_message, text_message

CORP = "ww-photo"
SECRET = "wecom-photo-secret"
TOKEN = "wecomphototoken"
AES_KEY = base64.b64encode(bytes(range(2, 34))).decode().rstrip("=")
LIMIT = 1_000_000


@dataclass
class Rig:
    fake: FakeWeCom
    server: WeComServer
    core: Core
    store: LocalStore
    http: httpx.AsyncClient
    dispatcher: OutboxDispatcher

    async def send(self, plain_xml: str) -> str:
        """Deliver the encrypted callback; the passive reply's text."""
        params, body = self.server.callback(plain_xml)
        answer = await self.http.post("/wecom/callback", params=params, content=body)
        assert answer.status_code == 200
        reply = self.server.open_reply(answer.text)
        assert reply.findtext("ToUserName") == "wangwei"
        return reply.findtext("Content") or ""


@pytest.fixture
def fake() -> Iterator[tuple[FakeWeCom, str]]:
    wecom = FakeWeCom(CORP, SECRET)
    with live_server(wecom.app) as url:
        yield wecom, url


@pytest.fixture
async def rig(fake: tuple[FakeWeCom, str], sqlite_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    wecom, url = fake
    db = Database(sqlite_url)
    seed_people(db)
    store = LocalStore(tmp_path / "evidence")
    core = make_core(db, platforms=("wecom",), evidence=store, policy=EvidencePolicy(max_bytes=LIMIT))
    client = WeComClient(CORP, SECRET, api_url=f"{url}/cgi-bin/")
    inbound = WeComInbound(WeChatCrypto(TOKEN, AES_KEY, CORP), client, 1000002, core.router)
    api = FastAPI()
    api.include_router(build_router(inbound))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://wareroom") as http:
        yield Rig(wecom, WeComServer(TOKEN, AES_KEY, CORP), core, store, http,
                  OutboxDispatcher(db, {"wecom": WeComChat(client, db, 1000002)}))
    db.dispose()


async def test_an_image_sent_to_the_app_completes_the_step_and_bad_ones_are_refused(rig: Rig) -> None:
    incident_id = declare_misshipment(rig.core)
    while await rig.dispatcher.drain_once():
        pass
    assert any("wangwei" in s["touser"].split("|") for s in rig.fake.called("message/send")
               if s["msgtype"] == "template_card")

    typed = await rig.send(text_message(user="wangwei", content="/done contain just-text", msg_id=1, corp_id=CORP))
    assert_refused_and_open(typed, "需要照片", "needs a photo")
    rig.fake.add_media("M-PDF", "hold.jpg", "image/jpeg", pdf_named_jpg())
    assert_refused_and_open(await rig.send(image_message(user="wangwei", media_id="M-PDF", msg_id=2, corp_id=CORP)),
                            "不是可识别的图片", "not a picture")
    rig.fake.add_media("M-BIG", "big.jpg", "image/jpeg", big_jpeg(LIMIT + 1))
    assert_refused_and_open(await rig.send(image_message(user="wangwei", media_id="M-BIG", msg_id=3, corp_id=CORP)),
                            "照片过大", "too large")
    rig.fake.add_media("M-LOST", "lost.jpg", "image/jpeg", camera_jpeg())
    rig.fake.lost_media.add("M-LOST")
    assert_refused_and_open(await rig.send(image_message(user="wangwei", media_id="M-LOST", msg_id=4, corp_id=CORP)),
                            "无法从聊天平台下载", "could not be downloaded")
    assert stored_files(rig.store.root) == [] and contain_is_open(rig.core, incident_id)

    rig.fake.add_media("M-GOOD", "IMG_0001.jpg", "image/jpeg", camera_jpeg())
    done = await rig.send(image_message(user="wangwei", media_id="M-GOOD", msg_id=5, corp_id=CORP))
    assert done.startswith("王伟 Wang Wei"), done
    fetched = [c["media_id"] for name, c in rig.fake.calls if name == "media/get"]
    assert fetched == ["M-PDF", "M-BIG", "M-LOST", "M-GOOD"]
    assert not contain_is_open(rig.core, incident_id)
    sha = assert_step_has_one_photo(rig.core.ctx.db, rig.store.root, incident_id=incident_id, step_id="contain",
                                    platform="wecom")
    html, pdf = review_documents(rig.core.ctx.db, rig.store, incident_id)
    assert_review_html_shows(html, sha, (800, 600))
    assert_review_pdf_shows(pdf, (800, 600))
