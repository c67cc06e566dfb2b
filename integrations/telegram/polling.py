"""Telegram inbound by long polling (``getUpdates``), for sites Telegram cannot reach with a webhook."""

import asyncio
import contextlib
import logging
from datetime import timedelta

from fastapi import APIRouter
from telegram import Bot
from telegram.error import RetryAfter, TelegramError

from handlers.commands import ChatRouter
from integrations.telegram.inbound import TelegramInbound

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ("message", "callback_query", "message_reaction")  # reactions: the timeline (/note)
LONG_POLL_SECONDS = 30
ERROR_PAUSE_SECONDS = 5.0


class TelegramPolling:
    """One getUpdates loop; each batch is confirmed by asking for the next offset, so an update is handled once."""

    def __init__(self, bot: Bot, *, long_poll_seconds: int = LONG_POLL_SECONDS) -> None:
        self.bot = bot
        self.long_poll_seconds = long_poll_seconds
        self.offset: int | None = None
        self._inbound: TelegramInbound | None = None
        self._task: asyncio.Task[None] | None = None

    def routes(self, router: ChatRouter) -> APIRouter:
        """No webhook endpoint: updates are fetched once started."""
        self._inbound = TelegramInbound(self.bot, router)
        return APIRouter()

    def _receiver(self) -> TelegramInbound:
        if self._inbound is None:
            raise RuntimeError("TelegramPolling.routes() must be called before polling")
        return self._inbound

    async def poll_once(self) -> int:
        """Fetch the next batch (waiting up to the long-poll time) and handle it; the number of updates."""
        inbound = self._receiver()
        updates = await self.bot.get_updates(offset=self.offset, timeout=self.long_poll_seconds,
                                             allowed_updates=list(ALLOWED_UPDATES))
        for update in updates:
            self.offset = update.update_id + 1  # confirmed with the next call, handled or not: no endless redelivery
            try:
                await inbound.process(update.to_dict())
            except Exception:
                log.exception("Telegram update %s could not be handled", update.update_id)
        return len(updates)

    async def _run(self) -> None:
        while True:
            try:
                await self.poll_once()
            except RetryAfter as exc:
                wait = exc.retry_after
                await asyncio.sleep(wait.total_seconds() if isinstance(wait, timedelta) else float(wait))
            except Exception:  # a network error, a 409 while a webhook is set, an update PTB cannot parse
                log.exception("Telegram getUpdates failed; retrying in %.0f s", ERROR_PAUSE_SECONDS)
                await asyncio.sleep(ERROR_PAUSE_SECONDS)

    async def start(self) -> None:
        """getMe, drop any webhook (getUpdates refuses to run beside one), then poll in the background."""
        self._receiver()
        await self.bot.initialize()
        await self.bot.delete_webhook()
        self._task = asyncio.create_task(self._run(), name="telegram-polling")

    async def stop(self) -> None:
        """Stop polling, confirm the last batch so a restart does not see it again, and close the bot."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.offset is not None:
            with contextlib.suppress(TelegramError):
                await self.bot.get_updates(offset=self.offset, limit=1, timeout=0)
        await self.bot.shutdown()
