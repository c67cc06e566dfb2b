"""The Telegram ChatPort: a forum topic per incident where the group has topics, else a reply chain to the root."""

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta

from telegram import Bot, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter

from handlers.ports import Capabilities, MessageRef, MessageRefused, OutboundMessage, RateLimited, ThreadRef
from integrations.outbound import DeliveryLimits, Rate, Unit, fit_text
from integrations.telegram import render

PLATFORM = "telegram"
TOPIC_NAME_MAX = 128  # createForumTopic: name 1-128 characters
# About 1 message a second per chat with short bursts, 20 a minute per group, 30 a second overall.
# Text is at most 4,096 characters after entities are parsed (counted here in UTF-16 code units, as
# Telegram's entity offsets are, so an emoji counts 2: never over the limit).
LIMITS = DeliveryLimits(rates=(Rate(burst=3, per_seconds=3.0), Rate(burst=20, per_seconds=60.0),
                               Rate(burst=30, per_seconds=1.0, per_destination=False)),
                        max_size=4096, unit=Unit.UTF16)


def thread_native(chat_id: str | int, *, topic: int | None = None, root: int | None = None) -> str:
    """``<chat>:t<topic id>`` for a forum topic, ``<chat>:r<root message id>`` for a reply chain."""
    return f"{chat_id}:t{topic}" if topic is not None else f"{chat_id}:r{root}"


def message_native(chat_id: str | int, message_id: int) -> str:
    return f"{chat_id}:{message_id}"


def _split(native: str) -> tuple[str, str]:
    chat, _, rest = native.rpartition(":")
    return chat, rest


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except RetryAfter as exc:
        wait = exc.retry_after
        raise RateLimited(wait.total_seconds() if isinstance(wait, timedelta) else float(wait), "telegram") from exc
    except (BadRequest, Forbidden, InvalidToken) as exc:  # answered and refused; network errors stay retryable
        raise MessageRefused(f"telegram: {exc.message}") from exc


class TelegramChat:
    """ChatPort over python-telegram-bot's Bot."""

    platform = PLATFORM
    capabilities = Capabilities(can_edit=True, max_buttons=8, max_text_bytes=4096, has_threads=True)
    limits = LIMITS

    def __init__(self, bot: Bot, chat_id: str) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self._forum: bool | None = None

    def destination(self, native: str | None) -> str:
        """Telegram counts messages per chat."""
        return _split(native)[0] if native else self.chat_id

    def measure(self, message: OutboundMessage) -> int:
        """The text as Telegram counts it after parsing the HTML entities: tags and escapes do not count."""
        return LIMITS.size(message.plain_text())

    async def find(self, key: str, thread: ThreadRef | None, *, since: datetime) -> tuple[ThreadRef, MessageRef] | None:
        """The Bot API cannot list a chat's messages nor send idempotently: never known."""
        return None

    async def _has_topics(self) -> bool:
        if self._forum is None:
            self._forum = bool((await self.bot.get_chat(self.chat_id)).is_forum)
        return self._forum

    async def open_thread(self, incident_id: int, first: OutboundMessage, *, key: str) -> tuple[ThreadRef, MessageRef]:
        with _translated():
            if await self._has_topics():
                name = fit_text(first.title, TOPIC_NAME_MAX, Unit.UTF16)
                topic = await self.bot.create_forum_topic(self.chat_id, name)
                sent = await self.bot.send_message(self.chat_id, render.html(first), parse_mode=ParseMode.HTML,
                                                   reply_markup=render.keyboard(first),
                                                   message_thread_id=topic.message_thread_id)
                thread = thread_native(self.chat_id, topic=topic.message_thread_id)
            else:
                sent = await self.bot.send_message(self.chat_id, render.html(first), parse_mode=ParseMode.HTML,
                                                   reply_markup=render.keyboard(first))
                thread = thread_native(self.chat_id, root=sent.message_id)
        return ThreadRef(PLATFORM, thread), MessageRef(PLATFORM, message_native(self.chat_id, sent.message_id))

    async def post(self, thread: ThreadRef, message: OutboundMessage, *, key: str) -> MessageRef:
        chat, where = _split(thread.native)
        place = int(where[1:])
        with _translated():
            if where.startswith("t"):
                sent = await self.bot.send_message(chat, render.html(message), parse_mode=ParseMode.HTML,
                                                   reply_markup=render.keyboard(message), message_thread_id=place)
            else:
                sent = await self.bot.send_message(
                    chat, render.html(message), parse_mode=ParseMode.HTML, reply_markup=render.keyboard(message),
                    reply_parameters=ReplyParameters(place, allow_sending_without_reply=True))
        return MessageRef(PLATFORM, message_native(chat, sent.message_id))

    async def update(self, ref: MessageRef, message: OutboundMessage, *, key: str) -> MessageRef:
        """Edit with the keyboard sent again (an edit without it removes it); "not modified" is success."""
        chat, message_id = _split(ref.native)
        with _translated():
            try:
                await self.bot.edit_message_text(render.html(message), chat_id=chat, message_id=int(message_id),
                                                 parse_mode=ParseMode.HTML, reply_markup=render.keyboard(message))
            except BadRequest as exc:
                if "message is not modified" not in exc.message.lower():
                    raise
        return ref
