"""Outbox delivery at the edges (issue 16 §3): the real adapters and client libraries against the fake Slack,
Telegram and WeCom, on SQLite and PostgreSQL. A message that cannot go out never holds up the others."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from time import monotonic
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import col, select
from telegram import Bot

from handlers import messages
from handlers.ports import ChatPort, OutboundMessage
from incidents import outbox
from incidents.actors import Actor
from incidents.clock import utcnow
from incidents.database import Database
from incidents.lifecycle import Transition
from incidents.tables import AuditEvent, ChatBinding, OutboxMessage
from integrations.outbound import LimitedPort, RateLimitedChat
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

PLATFORMS = ("slack", "telegram", "wecom")
CORP, SECRET, AGENT = "ww-corp-1", "wecom-app-secret", 1000002
WANG = Actor(person_id=1, name="王伟 Wang Wei", roles=("SL",), platform="slack", platform_user_id="U-wangwei")


@dataclass
class FakeTime:
    """One clock for the app's timers, its token buckets and the fakes' storm: seconds move only by hand."""

    start: datetime = field(default_factory=utcnow)
    seconds: float = 0.0

    def monotonic(self) -> float:
        return self.seconds

    def utc(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)

    async def sleep(self, seconds: float) -> None:
        self.seconds += seconds


@dataclass
class Fakes:
    slack: FakeSlack
    telegram: FakeTelegram
    wecom: FakeWeCom
    urls: dict[str, str]


@dataclass
class Rig:
    fakes: Fakes
    core: Core
    db: Database
    time: FakeTime | None = None
    bots: list[Bot] = field(default_factory=list)

    async def dispatcher(self, *, max_attempts: int = 25, poll_seconds: float = 1.0) -> OutboxDispatcher:
        """A new dispatcher with new clients, as after a restart."""
        bot = Bot(self.fakes.telegram.token, base_url=f"{self.fakes.urls['telegram']}/bot")
        await bot.initialize()
        self.bots.append(bot)
        slack = AsyncWebClient(token="xoxb-test", base_url=f"{self.fakes.urls['slack']}/api/")
        wecom = WeComClient(CORP, SECRET, api_url=f"{self.fakes.urls['wecom']}/cgi-bin/")
        inner: list[LimitedPort] = [SlackChat(slack, "C-OPS"), TelegramChat(bot, str(self.fakes.telegram.chat_id)),
                                    WeComChat(wecom, self.db, AGENT)]
        fake = self.time
        ports: dict[str, ChatPort] = {
            port.platform: RateLimitedChat(port, public_url="https://wareroom.example",
                                           clock=fake.monotonic if fake else monotonic,
                                           sleep=fake.sleep if fake else asyncio.sleep)
            for port in inner}
        return OutboxDispatcher(self.db, ports, max_attempts=max_attempts, now=fake.utc if fake else utcnow,
                                poll_seconds=poll_seconds)

    def rows(self, **where: str) -> list[OutboxMessage]:
        with self.db.reader() as session:
            query = select(OutboxMessage).order_by(col(OutboxMessage.id))
            for name, value in where.items():
                query = query.where(getattr(OutboxMessage, name) == value)
            return list(session.exec(query))


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    made = Fakes(FakeSlack(), FakeTelegram(), FakeWeCom(CORP, SECRET), {})
    with ExitStack() as stack:
        for name in PLATFORMS:
            made.urls[name] = stack.enter_context(live_server(getattr(made, name).app))
        yield made
        made.wecom.release()


@pytest.fixture
async def rig(fakes: Fakes, database_url: str) -> AsyncIterator[Rig]:
    db = Database(database_url)
    seed_people(db)
    made = Rig(fakes, make_core(db, platforms=PLATFORMS), db)
    yield made
    for bot in made.bots:
        await bot.shutdown()
    db.dispose()


async def _drain(dispatcher: OutboxDispatcher) -> None:
    while await dispatcher.drain_once():
        pass


def _delivered_texts(fakes: Fakes) -> dict[str, str]:
    """Everything each platform shows, as one text per platform."""
    return {"slack": "\n".join(p["text"] for p in fakes.slack.called("chat.postMessage")),
            "telegram": "\n".join(m["text"] for m in fakes.telegram.messages.values()),
            "wecom": "\n".join(b["markdown"]["content"] for b in fakes.wecom.called("appchat/send")
                               if "markdown" in b)}


async def test_an_edit_of_a_card_never_posted_does_not_hold_up_the_acknowledgement(rig: Rig) -> None:
    """An overdue group step edits a card that was never posted: it goes out as a post at once (no back-off),
    and the acknowledgement written after it reaches every platform."""
    incident_id = rig.core.flow.on_signal(make_signal())
    assert incident_id is not None
    dispatcher = await rig.dispatcher()
    await _drain(dispatcher)
    overdue = messages.notice(incident_id, "步骤 2b 已超时\nStep 2b is overdue", tone="alert")
    with rig.db.unit_of_work() as session:
        rig.core.ctx.notifier.edit(session, incident_id, overdue, suffix="step:check-doors:0")  # never posted
    assert rig.core.flow.change(incident_id=incident_id, change=Transition.ACKNOWLEDGE, actor=WANG).ok
    # round 1: the header (its own lane) and the edit; round 2: the acknowledgement; on every platform at once
    assert [await dispatcher.drain_once() for _ in range(3)] == [6, 3, 0]
    assert [r for r in rig.rows() if r.status != "sent"] == []
    for platform, text in _delivered_texts(rig.fakes).items():
        assert "Step 2b is overdue" in text and "王伟 Wang Wei" in text, platform
    edits = rig.rows(op="edit")
    assert {(r.status, r.last_error) for r in edits} == {
        ("sent", "the message to edit was never delivered: sent as a new message")}


async def test_a_crash_after_the_wecom_chat_was_created_opens_the_thread_on_restart(rig: Rig) -> None:
    rig.fakes.wecom.stalled.add("appchat/send")  # the chat is created; the process dies before its first message
    incident_id = rig.core.flow.on_signal(make_signal())
    assert incident_id is not None
    first = await rig.dispatcher()
    crashed = asyncio.create_task(_drain(first))
    await until(lambda: bool(rig.fakes.wecom.held))
    crashed.cancel()  # nothing after this point runs: the row stays "sending"
    [opening] = rig.rows(platform="wecom", op="open_thread")
    assert opening.status == "sending" and len(rig.fakes.wecom.chats) == 1
    restarted = await rig.dispatcher()
    await _drain(restarted)
    [chat_id] = rig.fakes.wecom.chats
    with rig.db.reader() as session:
        binding = outbox.binding(session, incident_id=incident_id, platform="wecom")
    assert binding is not None and binding.thread_native == chat_id
    assert [r.status for r in rig.rows(platform="wecom")] == ["sent"] * len(rig.rows(platform="wecom"))
    assert len(rig.fakes.wecom.called("appchat/create")) == 2  # the retry was told "exists" and took the chat
    assert restarted.stats.in_doubt >= 1  # WeCom's opening, and any other platform's caught mid-send
    assert len([b for b in rig.fakes.slack.called("chat.postMessage") if "thread_ts" not in b]) == 1


async def test_a_270_second_429_storm_loses_nothing(fakes: Fakes, database_url: str) -> None:
    """5 incidents x 6 posts on Slack and Telegram while both answer 429 for 270 s (on a hand-moved clock):
    the waits count as no failure, so even a retry budget of 3 abandons nothing and order is kept."""
    db = Database(database_url)
    seed_people(db)
    time = FakeTime()
    rig = Rig(fakes, make_core(db, platforms=("slack", "telegram")), db, time)
    storm = Storm(frozenset({"chat.postMessage", "sendMessage"}), until=270.0, clock=time.monotonic)
    fakes.slack.storm = fakes.telegram.storm = storm
    dispatcher = await rig.dispatcher(max_attempts=3)
    dispatcher.ports = {p: dispatcher.ports[p] for p in ("slack", "telegram")}
    incidents = [rig.core.flow.on_signal(make_signal(fingerprint=f"fp-{n}", zone=f"D{n}")) for n in range(5)]
    for incident_id in incidents:
        assert incident_id is not None
        with db.unit_of_work() as session:
            for n in range(6):
                text = f"#{incident_id} 消息 {n}"
                rig.core.ctx.notifier.post(session, incident_id, messages.notice(incident_id, text))
    while time.seconds < 900 and any(r.status != "sent" for r in rig.rows()):
        await dispatcher.drain_once()
        time.seconds += 1.0
    assert storm.refused >= 2 * 270 // 30  # a 429 per Retry-After on each platform: many more than the budget
    assert [r for r in rig.rows() if r.status != "sent" or r.attempts] == []  # waits are not failures
    for platform in ("slack", "telegram"):
        texts = [t for t in _delivered_texts(fakes)[platform].split("\n") if "消息" in t]
        assert len(texts) == 30
        for incident_id in incidents:
            assert [t for t in texts if t.startswith(f"#{incident_id} ")] == [
                f"#{incident_id} 消息 {n}" for n in range(6)]
    for bot in rig.bots:
        await bot.shutdown()
    db.dispose()


async def test_a_refused_message_is_parked_later_ones_go_out_and_an_admin_can_send_it_again(rig: Rig) -> None:
    incident_id = rig.core.flow.on_signal(make_signal())
    assert incident_id is not None
    dispatcher = await rig.dispatcher()
    await _drain(dispatcher)
    with rig.db.unit_of_work() as session:
        rig.core.ctx.notifier.post(session, incident_id, OutboundMessage(title="坏消息 bad", incident_id=incident_id))
        rig.core.ctx.notifier.post(session, incident_id, OutboundMessage(title="后来的 later", incident_id=incident_id))
    [bad] = [r for r in rig.rows(platform="slack") if r.payload["message"]["title"] == "坏消息 bad"]
    refuse = rig.fakes.slack
    original = refuse._post

    def post_or_refuse(params: dict[str, object]) -> dict[str, object]:
        if str(params.get("text", "")).startswith("坏消息"):
            return {"ok": False, "error": "invalid_blocks"}
        return original(params)

    refuse._post = post_or_refuse  # type: ignore[method-assign]
    await _drain(dispatcher)
    parked = rig.rows(platform="slack", status="dead")
    assert [(r.id, r.last_error) for r in parked] == [(bad.id, "refused: slack: invalid_blocks")]
    assert "后来的 later" in _delivered_texts(rig.fakes)["slack"]
    refuse._post = original  # type: ignore[method-assign]
    with rig.db.unit_of_work() as session:
        outbox.retry(session, row_id=bad.id or 0, actor=WANG)
    await _drain(dispatcher)
    assert "坏消息 bad" in _delivered_texts(rig.fakes)["slack"]
    with rig.db.reader() as session:
        [audited] = session.exec(select(AuditEvent).where(AuditEvent.action == "outbox.retried")).all()
        assert session.exec(select(ChatBinding)).all()
    assert audited.object_id == str(bad.id)


async def test_a_slack_root_posted_just_before_a_crash_is_found_not_posted_again(rig: Rig) -> None:
    rig.fakes.slack.slow_posts = {1}  # the thread's root is kept, its answer held back
    incident_id = rig.core.flow.on_signal(make_signal())
    assert incident_id is not None
    first = await rig.dispatcher()
    first.ports = {"slack": first.ports["slack"]}
    crashed = asyncio.create_task(_drain(first))
    await until(lambda: bool(rig.fakes.slack.paused))
    crashed.cancel()
    rig.fakes.slack.paused.clear()
    restarted = await rig.dispatcher()
    restarted.ports = {"slack": restarted.ports["slack"]}
    await _drain(restarted)
    roots = [p for p in rig.fakes.slack.called("chat.postMessage") if "thread_ts" not in p]
    assert len(roots) == 1 and (restarted.stats.in_doubt, restarted.stats.recovered) == (1, 1)
    with rig.db.reader() as session:
        binding = outbox.binding(session, incident_id=incident_id, platform="slack")
    assert binding is not None and rig.fakes.slack.messages[("C-OPS", binding.thread_native.split(":")[1])]
    assert [r.status for r in rig.rows(platform="slack")] == ["sent"] * len(rig.rows(platform="slack"))


async def test_a_platform_that_hangs_does_not_hold_up_the_others(rig: Rig) -> None:
    """WeCom stops answering in the middle of the opening; Slack and Telegram deliver everything meanwhile."""
    rig.fakes.wecom.stalled.add("appchat/send")
    incident_id = rig.core.flow.on_signal(make_signal())
    assert incident_id is not None
    with rig.db.unit_of_work() as session:
        for n in range(5):
            rig.core.ctx.notifier.post(session, incident_id, messages.notice(incident_id, f"进展 {n} / update {n}"))
    dispatcher = await rig.dispatcher()
    running = asyncio.create_task(dispatcher.run())
    try:
        await until(lambda: all(r.status == "sent" for r in rig.rows() if r.platform != "wecom"))
        assert rig.fakes.wecom.held == ["appchat/send"]  # still hanging
        for platform in ("slack", "telegram"):
            assert "update 4" in _delivered_texts(rig.fakes)[platform]
    finally:
        running.cancel()
        rig.fakes.wecom.release()


def _shows_wang(params: dict[str, Any]) -> bool:
    return "王伟" in json.dumps(params, ensure_ascii=False)


async def test_an_acknowledgement_is_delivered_at_the_wake_up_not_at_the_next_poll(rig: Rig) -> None:
    """With an hour between polls, the header edit and the notice of an acknowledgement still reach every
    platform: the commit's wake-up runs the lanes (the bound only guards against a hang)."""
    incident_id = rig.core.flow.on_signal(make_signal())
    assert incident_id is not None
    dispatcher = await rig.dispatcher(poll_seconds=3600)
    rig.core.ctx.wake_outbox = dispatcher.wake
    running = asyncio.create_task(dispatcher.run())
    try:
        await until(lambda: bool(rig.fakes.wecom.cards) and bool(rig.fakes.telegram.called("sendMessage"))
                    and bool(rig.fakes.slack.called("chat.postMessage")))
        assert rig.core.flow.change(incident_id=incident_id, change=Transition.ACKNOWLEDGE, actor=WANG).ok
        await until(lambda: any(map(_shows_wang, rig.fakes.slack.called("chat.update")))
                    and any(map(_shows_wang, rig.fakes.telegram.called("editMessageText")))
                    and any(map(_shows_wang, rig.fakes.wecom.called("message/update_template_card"))))
        await until(lambda: all(r.status == "sent" for r in rig.rows()))
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    for platform, text in _delivered_texts(rig.fakes).items():
        assert "王伟 Wang Wei" in text, platform  # the notice in the thread too


async def test_under_telegrams_budget_the_card_edit_goes_ahead_of_the_posts_waiting_for_it(
        fakes: Fakes, database_url: str) -> None:
    """Posts queued behind Telegram's per-chat budget (about one a second after a burst of 3): the
    acknowledgement's header edit takes the next free slot, ahead of the posts written before it (its own
    thread's included), and every post still goes out once, in order."""
    db = Database(database_url)
    seed_people(db)
    rig = Rig(fakes, make_core(db, platforms=("telegram",)), db)
    dispatcher = await rig.dispatcher(poll_seconds=3600)
    dispatcher.ports = {"telegram": dispatcher.ports["telegram"]}
    rig.core.ctx.wake_outbox = dispatcher.wake
    incident_id = rig.core.flow.on_signal(make_signal())
    assert incident_id is not None
    queued = [f"#{incident_id} 消息 {n}" for n in range(8)]
    with db.unit_of_work() as session:
        for text in queued:
            rig.core.ctx.notifier.post(session, incident_id, messages.notice(incident_id, text))
    running = asyncio.create_task(dispatcher.run())
    try:
        await until(lambda: any(queued[0] in p["text"] for p in fakes.telegram.called("sendMessage")))
        assert rig.core.flow.change(incident_id=incident_id, change=Transition.ACKNOWLEDGE, actor=WANG).ok
        async with asyncio.timeout(60):  # 8 posts and more at about one a second
            while any(r.status != "sent" for r in rig.rows()):  # noqa: ASYNC110 (the dispatcher's task changes it)
                await asyncio.sleep(0.1)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    order = [(method, p["text"]) for method, p in fakes.telegram.calls if method in ("sendMessage", "editMessageText")]
    [edit] = [n for n, (method, text) in enumerate(order) if method == "editMessageText" and "王伟" in text]
    posts = [text for method, text in order if method == "sendMessage"]
    assert [q for t in posts for q in queued if q in t] == queued  # each once, in order
    later = [text for _, text in order[edit + 1:]]
    assert queued[-1] in later[-2] and "王伟" in later[-1]  # behind the edit: the last queued post, the ack notice
    assert len([t for t in later if "消息" in t]) >= 4  # the edit overtook at least half of the queue
    for bot in rig.bots:
        await bot.shutdown()
    db.dispose()


async def test_rows_written_by_another_process_are_delivered_at_their_commit_on_postgresql(rig: Rig) -> None:
    """No in-process wake-up (as when another replica handled the alarm) and an hour between polls: the
    commit's NOTIFY wakes the lanes (the bound only guards against a hang)."""
    if not rig.db.is_postgres:
        pytest.skip("one process on SQLite: the in-process wake-up is all there is")
    dispatcher = await rig.dispatcher(poll_seconds=3600)
    running = asyncio.create_task(dispatcher.run())
    try:
        assert dispatcher._remote is not None
        assert await asyncio.to_thread(dispatcher._remote.listen().listening.wait, 10)
        await asyncio.sleep(0.1)  # the lanes' first round (nothing to deliver yet) is over
        incident_id = rig.core.flow.on_signal(make_signal())  # rig.core.ctx.wake_outbox does nothing
        assert incident_id is not None
        await until(lambda: bool(rig.fakes.wecom.cards) and bool(rig.fakes.telegram.called("sendMessage"))
                    and bool(rig.fakes.slack.called("chat.postMessage")))
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_only_the_newest_of_several_pending_header_updates_is_sent(rig: Rig) -> None:
    """Header updates replace the whole header: of three written while none was sent, only the newest goes
    out; the older ones are marked sent (superseded) and never reach the platform."""
    incident_id = rig.core.flow.on_signal(make_signal())
    assert incident_id is not None
    dispatcher = await rig.dispatcher()
    await _drain(dispatcher)
    edits_before = len(rig.fakes.telegram.called("editMessageText"))
    with rig.db.unit_of_work() as session:
        for n in range(3):
            header = OutboundMessage(title=f"#{incident_id} 版本 {n}", incident_id=incident_id)
            rig.core.ctx.notifier.update_header(session, incident_id, header)
    await _drain(dispatcher)
    edits = rig.fakes.telegram.called("editMessageText")[edits_before:]
    assert [e["text"] for e in edits if "版本" in e["text"]] == [e["text"] for e in edits]
    assert len(edits) == 1 and "版本 2" in edits[0]["text"]
    for platform in PLATFORMS:
        rows = [r for r in rig.rows(platform=platform, op="update_header") if "版本" in r.payload["message"]["title"]]
        assert [r.status for r in rows] == ["sent"] * 3
        assert [r.last_error for r in rows] == [f"superseded by row {rows[2].id}: not sent"] * 2 + [None]
