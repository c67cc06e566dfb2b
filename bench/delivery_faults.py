"""Delivery at the edges, measured on a hand-moved clock against the fake platforms (issue 16 §3).

``python -m bench.delivery_faults`` prints ``name: value`` lines:
- a 270 s rate-limit storm (429, Retry-After 10 s) on Slack and Telegram over 5 threads x 6 posts:
  posts lost (parked or never sent) and threads that lost any;
- an edit of a card never posted, then an acknowledgement: on how many of 3 platforms the
  acknowledgement arrived within 5 minutes;
- a crash right after WeCom ``appchat/create``: whether the thread opened after the restart.
"""

import asyncio
import inspect
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import select
from telegram import Bot

import incidents.outbox
import integrations.outbox_dispatcher
from bench.common import report
from bot import db as migrations
from handlers import messages
from handlers.ports import ChatPort
from incidents.actors import Actor
from incidents.clock import utcnow
from incidents.database import Database
from incidents.lifecycle import Transition
from incidents.tables import ChatBinding, OutboxMessage
from integrations.outbound import RateLimitedChat
from integrations.outbox_dispatcher import OutboxDispatcher
from integrations.slack.adapter import SlackChat
from integrations.telegram.adapter import TelegramChat
from integrations.wecom.adapter import WeComChat, WeComClient
from tests.factories import Core, make_core, make_signal, seed_people
from tests.fakes.live_server import live_server, until
from tests.fakes.slack_api import FakeSlack
from tests.fakes.storm import Storm
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.wecom_api import FakeWeCom

WANG = Actor(person_id=1, name="王伟 Wang Wei", roles=("SL",), platform="slack", platform_user_id="U-wangwei")


class Clock:
    """Seconds that move only by hand, as a monotonic clock and as UTC."""

    def __init__(self) -> None:
        self.start, self.seconds = utcnow(), 0.0

    def monotonic(self) -> float:
        return self.seconds

    def utc(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)

    async def sleep(self, seconds: float) -> None:
        self.seconds += seconds


@contextmanager
def site(platforms: tuple[str, ...]) -> Iterator[tuple[Core, Database, dict[str, Any], dict[str, str]]]:
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        migrations.upgrade(url)
        database = Database(url)
        seed_people(database)
        fakes: dict[str, Any] = {"slack": FakeSlack(), "telegram": FakeTelegram(), "wecom": FakeWeCom("ww", "s")}
        urls = {name: stack.enter_context(live_server(fake.app)) for name, fake in fakes.items()}
        # ``dispatcher`` patches the modules' clocks; each scenario starts on the real one again, or rows it
        # writes before its dispatcher exists would be stamped with the previous scenario's moved clock
        for module in (incidents.outbox, integrations.outbox_dispatcher):
            stack.callback(setattr, module, "utcnow", module.utcnow)
        yield make_core(database, platforms=platforms), database, fakes, urls
        fakes["wecom"].release()
        database.dispose()


async def dispatcher(database: Database, fakes: dict[str, Any], urls: dict[str, str], clock: Clock,
                     platforms: tuple[str, ...]) -> OutboxDispatcher:
    """The real dispatcher and adapters on ``clock`` (patched in where the code under test has no parameter)."""
    bot = Bot(fakes["telegram"].token, base_url=f"{urls['telegram']}/bot")
    await bot.initialize()
    inner = {"slack": SlackChat(AsyncWebClient(token="xoxb-b", base_url=f"{urls['slack']}/api/"), "C-OPS"),
             "telegram": TelegramChat(bot, str(fakes["telegram"].chat_id)),
             "wecom": WeComChat(WeComClient("ww", "s", api_url=f"{urls['wecom']}/cgi-bin/"), database, 1000002)}
    ports: dict[str, ChatPort] = {
        name: RateLimitedChat(inner[name], clock=clock.monotonic, sleep=clock.sleep)  # type: ignore[arg-type]
        for name in platforms}
    for module in (incidents.outbox, integrations.outbox_dispatcher):
        module.utcnow = clock.utc  # type: ignore[attr-defined]
    if "now" in inspect.signature(OutboxDispatcher).parameters:  # the code before this work had none
        return OutboxDispatcher(database, ports, now=clock.utc)
    return OutboxDispatcher(database, ports)


def rows(database: Database, where: Callable[[OutboxMessage], bool] = lambda _: True) -> list[OutboxMessage]:
    with database.reader() as session:
        return [r for r in session.exec(select(OutboxMessage)) if where(r)]


async def rounds(dispatcher_: OutboxDispatcher, clock: Clock, seconds: float) -> None:
    end = clock.seconds + seconds
    while clock.seconds < end:
        await dispatcher_.drain_once()
        clock.seconds += 1.0


async def storm() -> None:
    platforms = ("slack", "telegram")
    with site(platforms) as (core, database, fakes, urls):
        clock = Clock()
        weather = Storm(frozenset({"chat.postMessage", "sendMessage"}), until=270.0, clock=clock.monotonic,
                        retry_after=10)
        fakes["slack"].storm = fakes["telegram"].storm = weather
        incident_ids = [core.flow.on_signal(make_signal(fingerprint=f"fp-{n}", zone=f"D{n}")) for n in range(5)]
        for incident_id in incident_ids:
            assert incident_id is not None
            with database.unit_of_work() as session:
                for n in range(6):
                    core.ctx.notifier.post(session, incident_id, messages.notice(incident_id, f"#{incident_id} {n}"))
        await rounds(await dispatcher(database, fakes, urls, clock, platforms), clock, 900)
        lost = rows(database, lambda r: r.status != "sent" and r.op == "post" and "#" in str(r.payload))
        report("storm_270s_posts_lost", f"{len(lost)} of 60")
        report("storm_270s_threads_hit", f"{len({(r.incident_id, r.platform) for r in lost})} of 10")


async def overdue_edit() -> None:
    platforms = ("slack", "telegram", "wecom")
    with site(platforms) as (core, database, fakes, urls):
        clock = Clock()
        incident_id = core.flow.on_signal(make_signal())
        assert incident_id is not None
        dispatch = await dispatcher(database, fakes, urls, clock, platforms)
        await rounds(dispatch, clock, 60)
        with database.unit_of_work() as session:
            core.ctx.notifier.edit(session, incident_id, messages.notice(incident_id, "overdue"), suffix="step:x:0")
        core.flow.change(incident_id=incident_id, change=Transition.ACKNOWLEDGE, actor=WANG)
        await rounds(dispatch, clock, 300)
        acked = rows(database, lambda r: r.status == "sent" and "acknowledged the incident" in str(r.payload))
        arrived = {r.platform for r in acked}
        report("overdue_edit_ack_delivered_within_5min", f"{len(arrived)} of 3")


async def wecom_crash() -> None:
    with site(("wecom",)) as (core, database, fakes, urls):
        clock = Clock()
        fakes["wecom"].stalled.add("appchat/send")
        incident_id = core.flow.on_signal(make_signal())
        crashed = asyncio.create_task(rounds(await dispatcher(database, fakes, urls, clock, ("wecom",)), clock, 5))
        await until(lambda: bool(fakes["wecom"].held))  # the chat is created, its first message hangs: kill
        crashed.cancel()
        fakes["wecom"].release()
        await rounds(await dispatcher(database, fakes, urls, clock, ("wecom",)), clock, 3600)
        with database.reader() as session:
            opened = session.exec(select(ChatBinding).where(ChatBinding.incident_id == incident_id)).first()
        report("wecom_crash_after_create_thread_opened", "yes" if opened else "no")


def main() -> None:
    for scenario in (storm, overdue_edit, wecom_crash):
        asyncio.run(scenario())


if __name__ == "__main__":
    main()
