"""Telegram updates (button presses and commands) → ChatEvents → ChatRouter; replies go back where the user acted."""

import asyncio
import logging
from dataclasses import replace
from typing import Any

from telegram import Bot, CallbackQuery, Message, MessageReactionUpdated, ReactionTypeEmoji, Update

from handlers.commands import ChatRouter, parse_command
from handlers.ports import ButtonClicked, ChatEvent, CommandInvoked, MessageRef, PhotoSent, Reply, ThreadRef, UserRef
from handlers.timeline_notes import PIN_MARK, REACTION_MARK, TELEGRAM_NOTE_REACTIONS
from incidents import outbox
from incidents.clock import utcnow
from incidents.evidence.images import EvidencePolicy
from integrations.outbound import fit_text
from integrations.telegram.adapter import LIMITS, PLATFORM, message_native, thread_native
from integrations.telegram.photos import download, has_picture

log = logging.getLogger(__name__)
ANSWER_MAX = 200  # answerCallbackQuery text limit


def _candidates(message: Message) -> list[str]:
    """Threads a message may belong to: its topic, the message it replies to, or itself as a root."""
    found = []
    if message.is_topic_message and message.message_thread_id is not None:
        found.append(thread_native(message.chat_id, topic=message.message_thread_id))
    if message.reply_to_message is not None:
        found.append(thread_native(message.chat_id, root=message.reply_to_message.message_id))
    found.append(thread_native(message.chat_id, root=message.message_id))
    return found


class TelegramInbound:
    """One update at a time; the router runs in a worker thread, off the event loop."""

    def __init__(self, bot: Bot, router: ChatRouter) -> None:
        self.bot = bot
        self.router = router

    def _bind(self, candidates: list[str]) -> tuple[ThreadRef, int] | None:
        """The first candidate thread bound to an incident, and that incident's id."""
        with self.router.ctx.db.reader() as session:
            for native in candidates:
                bound = outbox.binding_for_thread(session, platform=PLATFORM, thread_native=native)
                if bound is not None:
                    return ThreadRef(PLATFORM, native), bound.incident_id
        return None

    def _route(self, event: ChatEvent, candidates: list[str]) -> Reply:
        bound = self._bind(candidates)
        if bound is not None:
            event = replace(event, thread=bound[0], incident_id=bound[1])
        return self.router.handle(event)

    def _key(self, update_id: int) -> str:
        """``update_id`` increases per bot: the identity is the bot's id (the token's prefix) and the update's."""
        return f"telegram:{self.bot.token.partition(':')[0]}:{update_id}"

    async def process(self, data: dict[str, Any]) -> None:
        """Handle one update; anything else than a button press or a new message (an edit, a member
        change, a channel post) is ignored quietly."""
        update = Update.de_json(data, self.bot)
        if update.callback_query is not None:
            await self._click(update.update_id, update.callback_query)
        elif update.message_reaction is not None:
            await self._reaction(update.update_id, update.message_reaction)
        elif update.message is not None and isinstance(update.message.pinned_message, Message):
            await self._pinned(update.update_id, update.message, update.message.pinned_message)
        elif update.message is not None and update.message.text:
            await self._command(update.update_id, update.message)
        elif update.message is not None and has_picture(update.message):
            await self._picture(update.update_id, update.message)

    async def _picture(self, update_id: int, message: Message) -> None:
        """A photo or file in an incident's thread: fetched once, then handed to the core; pictures elsewhere
        in the group are not WareRoom's and are left alone."""
        if message.from_user is None:
            return
        bound = await asyncio.to_thread(self._bind, _candidates(message))
        if bound is None:
            return
        limit = (self.router.evidence.policy if self.router.evidence else EvidencePolicy()).max_bytes
        got = await download(self.bot, message, limit=limit)
        event = PhotoSent(platform=PLATFORM, dedupe_key=self._key(update_id),
                          actor=UserRef(PLATFORM, str(message.from_user.id), message.from_user.full_name),
                          thread=bound[0], received_at=utcnow(), incident_id=bound[1], download=got,
                          caption=message.caption or "")
        reply = await asyncio.to_thread(self.router.handle, event)
        await message.reply_text(fit_text(reply.text, LIMITS.max_size, LIMITS.unit), do_quote=True)

    async def _click(self, update_id: int, query: CallbackQuery) -> None:
        message = query.message if isinstance(query.message, Message) else None
        event = ButtonClicked(
            platform=PLATFORM, dedupe_key=self._key(update_id),
            actor=UserRef(PLATFORM, str(query.from_user.id), query.from_user.full_name), thread=None,
            received_at=utcnow(), token=query.data or "", interaction_id=query.id,
            message=MessageRef(PLATFORM, message_native(message.chat_id, message.message_id)) if message else None)
        reply = await asyncio.to_thread(self._route, event, _candidates(message) if message else [])
        text = fit_text(reply.text, ANSWER_MAX, LIMITS.unit)
        await query.answer(text=text, show_alert=not reply.ok)

    async def _reaction(self, update_id: int, reaction: MessageReactionUpdated) -> None:
        """An agreed emoji (``TELEGRAM_NOTE_REACTIONS``) added to a message of an incident thread: the message
        goes on the timeline. The Bot API gives no message text with a reaction, so it is read from what
        WareRoom posted (its cards and notices) or, for a thread's root, known from the binding."""
        added = {r.emoji for r in reaction.new_reaction if isinstance(r, ReactionTypeEmoji)}
        old = {r.emoji for r in reaction.old_reaction if isinstance(r, ReactionTypeEmoji)}
        if reaction.user is None or not (added - old) & TELEGRAM_NOTE_REACTIONS:
            return
        native = message_native(reaction.chat.id, reaction.message_id)
        found = await asyncio.to_thread(self._posted, native)
        if found is None:
            return
        incident_id, text = found
        event = CommandInvoked(platform=PLATFORM, dedupe_key=self._key(update_id),
                               actor=UserRef(PLATFORM, str(reaction.user.id), reaction.user.full_name), thread=None,
                               received_at=utcnow(), incident_id=incident_id, name="note",
                               args=(REACTION_MARK, *text.split()))
        await asyncio.to_thread(self.router.handle, event)

    def _posted(self, native: str) -> tuple[int, str] | None:
        """(incident, text) of a message WareRoom posted on Telegram, by its native ref."""
        with self.router.ctx.db.reader() as session:
            row = outbox.by_message_native(session, platform=PLATFORM, native=native)
        if row is None:
            return None
        shown = row.payload.get("message") or {}
        return row.incident_id, " ".join(str(shown.get(k) or "") for k in ("title", "body")).strip() or native

    async def _pinned(self, update_id: int, service: Message, pinned: Message) -> None:
        """A message pinned in an incident thread: it goes on the timeline as ``/note 📌 <text>``."""
        text = (pinned.text or pinned.caption or "").split()
        if service.from_user is None or not text:
            return
        event = CommandInvoked(platform=PLATFORM, dedupe_key=self._key(update_id),
                               actor=UserRef(PLATFORM, str(service.from_user.id), service.from_user.full_name),
                               thread=None, received_at=utcnow(), name="note", args=(PIN_MARK, *text))
        candidates = _candidates(pinned)
        if await asyncio.to_thread(self._bound, candidates):
            await asyncio.to_thread(self._route, event, candidates)

    def _bound(self, candidates: list[str]) -> bool:
        with self.router.ctx.db.reader() as session:
            return any(outbox.binding_for_thread(session, platform=PLATFORM, thread_native=native) is not None
                       for native in candidates)

    async def _command(self, update_id: int, message: Message) -> None:
        text = message.text or ""
        head = text.split(maxsplit=1)[0] if text.strip() else ""
        if head.startswith("/") and "@" in head and head.split("@", 1)[1].lower() != (self.bot.username or "").lower():
            return  # ``/stock@other_bot``: addressed to another bot in the group
        parsed = parse_command(text)
        if parsed is None or message.from_user is None:
            return
        event = CommandInvoked(platform=PLATFORM, dedupe_key=self._key(update_id),
                               actor=UserRef(PLATFORM, str(message.from_user.id), message.from_user.full_name),
                               thread=None, received_at=utcnow(), name=parsed.name, args=parsed.args)
        reply = await asyncio.to_thread(self._route, event, _candidates(message))
        await message.reply_text(fit_text(reply.text, LIMITS.max_size, LIMITS.unit), do_quote=True)
