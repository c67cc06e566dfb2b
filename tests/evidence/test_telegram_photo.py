"""A photo sent in the incident's Telegram topic: getFile, one download, the step done with its hash."""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from telegram import Bot

from incidents.database import Database
from incidents.evidence.images import EvidencePolicy
from incidents.evidence.store import LocalStore
from integrations.outbound import RateLimitedChat
from integrations.outbox_dispatcher import OutboxDispatcher
from integrations.telegram.adapter import TelegramChat
from integrations.telegram.inbound import TelegramInbound
from integrations.telegram.photos import file_url
from integrations.telegram.routes import build_router
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
from tests.fakes.telegram_api import FakeTelegram, photo_update, text_update, user

SECRET = "tg-photo-secret"
WANG = user(1001, "Wei")
LIMIT = 1_000_000


@dataclass
class Rig:
    fake: FakeTelegram
    core: Core
    store: LocalStore
    http: httpx.AsyncClient
    dispatcher: OutboxDispatcher

    async def send(self, update: dict[str, Any]) -> str:
        """Post the update to the webhook; the bot's answer to it (its last reply)."""
        before = len(self.fake.called("sendMessage"))
        answer = await self.http.post("/telegram/webhook", json=update,
                                      headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert answer.status_code == 200
        sent = self.fake.called("sendMessage")[before:]
        assert len(sent) == 1, sent
        return str(sent[0]["text"])


@pytest.fixture
def fake() -> Iterator[tuple[FakeTelegram, str]]:
    telegram = FakeTelegram(is_forum=True)
    with live_server(telegram.app) as url:
        yield telegram, url


@pytest.fixture
async def rig(fake: tuple[FakeTelegram, str], sqlite_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    telegram, url = fake
    db = Database(sqlite_url)
    seed_people(db)
    store = LocalStore(tmp_path / "evidence")
    core = make_core(db, platforms=("telegram",), evidence=store, policy=EvidencePolicy(max_bytes=LIMIT))
    bot = Bot(telegram.token, base_url=f"{url}/bot", base_file_url=file_url(f"{url}/bot"))
    await bot.initialize()
    api = FastAPI()
    api.include_router(build_router(TelegramInbound(bot, core.router), SECRET))
    chat = TelegramChat(bot, str(telegram.chat_id))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://wareroom") as http:
        yield Rig(telegram, core, store, http, OutboxDispatcher(db, {"telegram": RateLimitedChat(chat)}))
    await bot.shutdown()
    db.dispose()


async def test_a_photo_in_the_topic_completes_the_step_and_bad_ones_are_refused(rig: Rig) -> None:
    incident_id = declare_misshipment(rig.core)
    while await rig.dispatcher.drain_once():
        pass
    topic = rig.fake.called("createForumTopic")
    assert topic
    root = rig.fake.messages[min(rig.fake.messages)]
    chat, thread = root["chat"], {"thread_id": root["message_thread_id"]}

    typed = await rig.send(text_update(1, sender=WANG, chat=chat, text="/done contain just-text", **thread))
    assert_refused_and_open(typed, "需要照片", "needs a photo")
    renamed = rig.fake.add_file("pdf1", pdf_named_jpg())
    assert_refused_and_open(await rig.send(photo_update(2, sender=WANG, chat=chat, photo=renamed,
                                                        as_document="hold.jpg", **thread)),
                            "不是可识别的图片", "not a picture")
    huge = rig.fake.add_file("big1", big_jpeg(LIMIT + 1))
    assert_refused_and_open(await rig.send(photo_update(3, sender=WANG, chat=chat, photo=huge, **thread)),
                            "照片过大", "too large")
    lost = rig.fake.add_file("lost1", camera_jpeg())
    rig.fake.lost_files.add("lost1")
    assert_refused_and_open(await rig.send(photo_update(4, sender=WANG, chat=chat, photo=lost, **thread)),
                            "无法从聊天平台下载", "could not be downloaded")
    assert rig.fake.downloads == ["photos/pdf1.bin", "photos/lost1.bin"]  # the oversize one was not fetched
    assert stored_files(rig.store.root) == [] and contain_is_open(rig.core, incident_id)

    good = rig.fake.add_file("good1", camera_jpeg())
    done = await rig.send(photo_update(5, sender=WANG, chat=chat, photo=good, caption="contain 扣留 3 件", **thread))
    assert done.startswith("王伟 Wang Wei"), done
    assert rig.fake.downloads[-1] == "photos/good1.bin"  # the largest size, fetched once
    assert not contain_is_open(rig.core, incident_id)
    sha = assert_step_has_one_photo(rig.core.ctx.db, rig.store.root, incident_id=incident_id, step_id="contain",
                                    platform="telegram")
    html, pdf = review_documents(rig.core.ctx.db, rig.store, incident_id)
    assert_review_html_shows(html, sha, (800, 600))
    assert_review_pdf_shows(pdf, (800, 600))
