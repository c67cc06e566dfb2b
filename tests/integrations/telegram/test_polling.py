"""Telegram long polling: python-telegram-bot's getUpdates against the fake Bot API, wired by bootstrap."""

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import select
from telegram import Bot

from bot.bootstrap import ChatPlatform, chat_platforms
from bot.settings import Settings
from incidents.database import Database
from incidents.tables import AuditEvent, Incident
from integrations.outbox_dispatcher import OutboxDispatcher
from integrations.telegram.polling import TelegramPolling
from tests.factories import Core, make_core, make_signal, seed_people
from tests.fakes.live_server import live_server, until
from tests.fakes.telegram_api import FakeTelegram, callback_update, text_update, user

WANG = user(1001, "Wei")


@dataclass
class Rig:
    fake: FakeTelegram
    url: str
    core: Core
    db: Database
    platform: ChatPlatform
    dispatcher: OutboxDispatcher

    async def open(self) -> tuple[int, dict[str, Any]]:
        incident_id = self.core.flow.on_signal(make_signal())
        assert incident_id is not None
        while await self.dispatcher.drain_once():
            pass
        return incident_id, self.fake.messages[min(self.fake.messages)]


@pytest.fixture
def fake() -> Iterator[tuple[FakeTelegram, str]]:
    telegram = FakeTelegram(webhook_set=True)  # left over from an earlier webhook deployment
    with live_server(telegram.app) as url:
        yield telegram, url


@pytest.fixture
async def rig(fake: tuple[FakeTelegram, str], sqlite_url: str) -> AsyncIterator[Rig]:
    telegram, url = fake
    db = Database(sqlite_url)
    seed_people(db)
    core = make_core(db, platforms=("telegram",))
    settings = Settings(_env_file=None, telegram_bot_token=telegram.token,
                        telegram_chat_id=str(telegram.chat_id), telegram_mode="polling",
                        telegram_api_url=f"{url}/bot")
    [platform] = chat_platforms(settings, db)
    yield Rig(telegram, url, core, db, platform, OutboxDispatcher(db, {"telegram": platform.port}))
    db.dispose()


def _status(db: Database, incident_id: int) -> str:
    with db.reader() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        return incident.status


def _offsets(fake: FakeTelegram) -> list[int | None]:
    return [int(p["offset"]) if "offset" in p else None for p in fake.called("getUpdates")]


async def test_a_polled_button_press_acknowledges_once_and_is_confirmed(rig: Rig) -> None:
    assert rig.platform.routes(rig.core.router).routes == []  # no webhook endpoint in polling mode
    await rig.platform.start()
    try:
        assert [name for name, _ in rig.fake.calls[:2]] == ["getMe", "deleteWebhook"]
        incident_id, root = await rig.open()
        rig.fake.updates.append(callback_update(77, sender=WANG, message=root, data=f"v1:ack:{incident_id}"))
        await until(lambda: 78 in _offsets(rig.fake))  # the next poll confirms update 77
        [answer] = rig.fake.called("answerCallbackQuery")
        assert (answer["callback_query_id"], answer["text"]) == (
            "cbq-77", "王伟 Wang Wei 已确认事件。\n王伟 Wang Wei acknowledged the incident.")
        assert _status(rig.db, incident_id) == "acknowledged"
        assert rig.fake.updates == []
    finally:
        await rig.platform.stop()
    assert rig.fake.called("getUpdates")[-1] == {"offset": "78", "limit": "1", "timeout": "0"}
    with rig.db.reader() as session:
        acked = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.acknowledge")).all()
    assert [(a.platform, a.platform_user_id) for a in acked] == [("telegram", "1001")]
    assert len(rig.fake.called("answerCallbackQuery")) == 1


async def test_a_failing_update_is_logged_and_the_next_one_is_still_handled(
    rig: Rig, caplog: pytest.LogCaptureFixture,
) -> None:
    bot = Bot(rig.fake.token, base_url=f"{rig.url}/bot")
    await bot.initialize()
    polling = TelegramPolling(bot, long_poll_seconds=0)
    polling.routes(rig.core.router)
    rig.platform.routes(rig.core.router)
    try:
        await rig.platform.start()  # only to let the port send the incident's messages
        incident_id, root = await rig.open()
    finally:
        await rig.platform.stop()
    rig.fake.stale_queries.add("cbq-1")
    rig.fake.updates += [callback_update(1, sender=WANG, message=root, data=f"v1:ack:{incident_id}"),
                         text_update(2, sender=WANG, chat=root["chat"], text=f"/status {incident_id}")]
    with caplog.at_level(logging.ERROR, logger="integrations.telegram.polling"):
        assert await polling.poll_once() == 2
    assert [r.getMessage() for r in caplog.records] == ["Telegram update 1 could not be handled"]
    [reply] = [s for s in rig.fake.called("sendMessage") if s.get("reply_parameters", {}).get("message_id") == 5002]
    assert "已确认 Acknowledged" in reply["text"]
    assert await polling.poll_once() == 0
    assert _offsets(rig.fake)[-2:] == [None, 3]
    await bot.shutdown()
