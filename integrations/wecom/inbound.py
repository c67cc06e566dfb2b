"""WeCom callbacks: decrypted with WeChatCrypto, template-card clicks and text commands → ChatEvents → ChatRouter."""

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlmodel import col, select
from wechatpy.enterprise import create_reply, parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.events import register_event
from wechatpy.enterprise.messages import ImageMessage, TextMessage
from wechatpy.events import BaseEvent
from wechatpy.fields import IntegerField, StringField

from handlers.commands import ChatRouter, parse_command
from handlers.ports import ButtonClicked, ChatEvent, CommandInvoked, MessageRef, PhotoSent, Reply, ThreadRef, UserRef
from incidents import outbox
from incidents.clock import utcnow
from integrations.outbound import Unit, fit_text
from integrations.wecom.adapter import PLATFORM, TEXT_MAX_BYTES, WeComClient
from integrations.wecom.photos import download
from integrations.wecom.store import WeComCard

log = logging.getLogger(__name__)
RECENT_CARDS = 200
REPLAY_WINDOW_SECONDS = 300  # as Slack's: WeCom signs the timestamp but leaves the window to us


class StaleCallback(ValueError):
    """A callback whose signed timestamp is more than five minutes away from now: a replay, refused."""


def _check_window(timestamp: str, now: float) -> None:
    if not timestamp.isdigit() or abs(now - int(timestamp)) > REPLAY_WINDOW_SECONDS:
        raise StaleCallback(f"timestamp {timestamp[:20]!r} is outside the {REPLAY_WINDOW_SECONDS} s window")


def event_key(message: BaseEvent) -> str:
    """An event's identity (events carry no MsgId): who, when (CreateTime), and what, per WeCom's advice to
    deduplicate events on FromUserName + CreateTime; a replay of the same encrypted body gives the same."""
    what = ":".join(str(getattr(message, name, "")) for name in ("event", "task_id", "key"))
    digest = hashlib.sha256(f"{message.source}:{message.time}:{what}".encode()).hexdigest()[:32]
    return f"wecom:event:{digest}"


@register_event("template_card_event")
class TemplateCardEvent(BaseEvent):  # type: ignore[misc]
    """A button pressed on a template card (wechatpy has no parser for it)."""

    event = "template_card_event"
    agent = IntegerField("AgentID", 0)
    key = StringField("EventKey", "")
    task_id = StringField("TaskId", "")
    card_type = StringField("CardType", "")
    response_code = StringField("ResponseCode", "")


class WeComInbound:
    """Checks and decrypts callbacks; the router and wechatpy's calls run in worker threads."""

    def __init__(self, crypto: WeChatCrypto, client: WeComClient, agent_id: int, router: ChatRouter, *,
                 now: Callable[[], float] = time.time) -> None:
        self.crypto = crypto
        self.now = now
        self.client = client
        self.agent_id = agent_id
        self.router = router
        self._replies: set[asyncio.Task[Any]] = set()

    def verify_url(self, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The decrypted echostr WeCom expects back when the callback URL is saved (StaleCallback when old)."""
        _check_window(timestamp, self.now())
        return str(self.crypto.check_signature(signature, timestamp, nonce, echostr))

    async def receive(self, body: bytes, signature: str, timestamp: str, nonce: str) -> str:
        """Handle one callback; returns the encrypted passive reply, or "" for none (also for events
        WareRoom does not act on). StaleCallback when the timestamp is outside the 5-minute window."""
        _check_window(timestamp, self.now())
        message = parse_message(self.crypto.decrypt_message(body, signature, timestamp, nonce))
        if isinstance(message, TemplateCardEvent):
            reply = await asyncio.to_thread(self._click, message)
            self._answer(message.source, reply)
            return ""
        answer: Reply | None = None
        if isinstance(message, TextMessage):
            answer = await asyncio.to_thread(self._command, message)
        elif isinstance(message, ImageMessage):
            answer = await asyncio.to_thread(self._picture, message)
        if answer is None:
            return ""
        text = fit_text(answer.text, TEXT_MAX_BYTES, Unit.BYTES)
        return str(self.crypto.encrypt_message(create_reply(text, message).render(), nonce, timestamp))

    def _answer(self, user: str, reply: Reply) -> None:
        """A click cannot be answered passively with text: send it to the user, after the callback returns."""
        text = fit_text(reply.text, TEXT_MAX_BYTES, Unit.BYTES)
        task = asyncio.create_task(asyncio.to_thread(self.client.message.send_text, self.agent_id, [user], text))
        self._replies.add(task)
        task.add_done_callback(self._replied)

    def _replied(self, task: asyncio.Task[Any]) -> None:
        self._replies.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("could not send a WeCom reply: %s", task.exception())

    async def drain(self) -> None:
        """Wait for replies still being sent (shutdown, tests)."""
        await asyncio.gather(*self._replies, return_exceptions=True)

    def _incident(self, chat_id: str | None) -> int | None:
        if chat_id is None:
            return None
        with self.router.ctx.db.reader() as session:
            bound = outbox.binding_for_thread(session, platform=PLATFORM, thread_native=chat_id)
        return bound.incident_id if bound else None

    def _click(self, message: TemplateCardEvent) -> Reply:
        with self.router.ctx.db.unit_of_work() as session:
            card = session.get(WeComCard, message.task_id)
            if card is not None and message.response_code:
                card.response_code = message.response_code  # the fresh one-use code for the next card update
                session.add(card)
            chat_id = card.chat_id if card else None
        event: ChatEvent = ButtonClicked(
            platform=PLATFORM, dedupe_key=event_key(message),
            actor=UserRef(PLATFORM, message.source), thread=ThreadRef(PLATFORM, chat_id) if chat_id else None,
            received_at=utcnow(), incident_id=self._incident(chat_id), token=message.key,
            interaction_id=message.task_id, message=MessageRef(PLATFORM, f"card:{message.task_id}"))
        return self.router.handle(event)

    def _latest_chat(self, user: str) -> str | None:
        """Commands come in the user's own chat with the app: they concern the incident of the latest card."""
        with self.router.ctx.db.reader() as session:
            cards = session.exec(select(WeComCard).order_by(col(WeComCard.created_at).desc()).limit(RECENT_CARDS))
            return next((c.chat_id for c in cards if user in c.userids), None)

    def _picture(self, message: ImageMessage) -> Reply | None:
        """An image sent to the app while the member has an incident: fetched once, evidence of its step."""
        chat_id = self._latest_chat(message.source)
        incident_id = self._incident(chat_id)
        if incident_id is None:
            return None
        event = PhotoSent(platform=PLATFORM, dedupe_key=f"wecom:msg:{message.id}",
                          actor=UserRef(PLATFORM, message.source),
                          thread=ThreadRef(PLATFORM, chat_id) if chat_id else None, received_at=utcnow(),
                          incident_id=incident_id, download=download(self.client, message.media_id))
        return self.router.handle(event)

    def _command(self, message: TextMessage) -> Reply | None:
        parsed = parse_command(message.content or "")
        if parsed is None:
            return None
        chat_id = self._latest_chat(message.source)
        event = CommandInvoked(platform=PLATFORM, dedupe_key=f"wecom:msg:{message.id}",
                               actor=UserRef(PLATFORM, message.source),
                               thread=ThreadRef(PLATFORM, chat_id) if chat_id else None, received_at=utcnow(),
                               incident_id=self._incident(chat_id), name=parsed.name, args=parsed.args)
        return self.router.handle(event)
