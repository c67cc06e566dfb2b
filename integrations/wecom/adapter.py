"""The WeCom ChatPort: an app group chat per incident, and button cards sent to the people of the directory."""

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlmodel import select
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import APILimitedException, WeChatClientException

from handlers.ports import (
    Capabilities,
    ChatUnavailable,
    MessageRef,
    MessageRefused,
    OutboundMessage,
    RateLimited,
    ThreadRef,
)
from incidents.database import Database
from incidents.tables import ChatIdentity, Person
from integrations.outbound import DeliveryLimits, Rate, Unit, fit_text
from integrations.wecom import render
from integrations.wecom.store import WeComCard

log = logging.getLogger(__name__)
PLATFORM = "wecom"
LIMIT_BACKOFF_SECONDS = 60.0  # 45009 carries no retry-after; minute-level blocks last 60 s
CHAT_NAME_MAX = 50  # appchat/create: name at most 50 UTF-8 characters
TEXT_MAX_BYTES = 2048  # message/send and appchat/send: text and markdown content at most 2,048 bytes
# App messages: 30 a minute to the same member; appchat: 200 a minute per member.
LIMITS = DeliveryLimits(rates=(Rate(burst=20, per_seconds=60.0),), max_size=TEXT_MAX_BYTES, unit=Unit.BYTES)
CHAT_EXISTS = 86215  # appchat/create: the chat id is taken (by our own earlier attempt)
TASK_ID_EXISTS = 42014  # template_card: the task id was used (our own card, sent before a crash)
SYSTEM_BUSY = -1  # WeCom's "system busy, retry later"
_CARD = "card:"
_CHAT = "chat:"


class WeComClient(WeChatClient):  # type: ignore[misc]
    """wechatpy's client on ``WAREROOM_WECOM_API_URL``, gettoken included (wechatpy hard-codes that one URL)."""

    def __init__(self, corp_id: str, secret: str, *, api_url: str, timeout: float = 10.0) -> None:
        self.API_BASE_URL = api_url.rstrip("/") + "/"
        super().__init__(corp_id, secret, timeout=timeout)

    def fetch_access_token(self) -> dict[str, Any]:
        """GET ``{api_url}gettoken``; wechatpy caches the token and refetches it on 42001/40014."""
        result: dict[str, Any] = self._fetch_access_token(
            url=self.API_BASE_URL + "gettoken", params={"corpid": self.corp_id, "corpsecret": self.secret})
        return result


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except APILimitedException as exc:
        raise RateLimited(LIMIT_BACKOFF_SECONDS, "wecom 45009") from exc
    except WeChatClientException as exc:
        if exc.errcode in (SYSTEM_BUSY, None):
            raise
        raise MessageRefused(f"wecom {exc.errcode}: {exc.errmsg}") from exc


def _errcode(exc: BaseException) -> int | None:
    cause = exc.__cause__
    return cause.errcode if isinstance(cause, WeChatClientException) else None


def chat_id_for(incident_id: int, key: str) -> str:
    """The incident chat's id, fixed by the outbox key before the call, so that a retry finds the same chat
    (``[0-9a-zA-Z]``, at most 32 characters)."""
    return f"wr{incident_id}n{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def task_id_for(incident_id: int | None, key: str) -> str:
    """A card's task id, fixed by the outbox key: sending the same card again is refused with 42014
    instead of showing it twice (unique forever per app, at most 128 bytes)."""
    return f"inc_{incident_id or 0}_{hashlib.sha1(key.encode()).hexdigest()[:20]}"


class WeComChat:
    """ChatPort over wechatpy; every wechatpy call runs in a worker thread (it is synchronous)."""

    platform = PLATFORM
    capabilities = Capabilities(can_edit=True, max_buttons=render.MAX_BUTTONS, max_text_bytes=2048, has_threads=True)
    limits = LIMITS

    def __init__(self, client: WeComClient, db: Database, agent_id: int) -> None:
        self.client = client
        self.db = db
        self.agent_id = agent_id

    def measure(self, message: OutboundMessage) -> int:
        """UTF-8 bytes of the markdown sent to the incident chat (at most 2,048)."""
        return LIMITS.size(render.markdown(message))

    async def find(self, key: str, thread: ThreadRef | None, *, since: datetime) -> tuple[ThreadRef, MessageRef] | None:
        """WeCom cannot list a chat's messages: never known (cards and chats are idempotent by their ids)."""
        return None

    def destination(self, native: str | None) -> str:
        """Cards count against their recipients, chat messages against the chat."""
        if native is None:
            return "new-chats"
        if native.startswith(_CARD):
            return "cards"
        return native.removeprefix(_CHAT)

    def recipients(self) -> list[str]:
        """WeCom user ids of every active person in the directory."""
        with self.db.reader() as session:
            rows = session.exec(select(ChatIdentity.platform_user_id).join(Person, Person.id == ChatIdentity.person_id)  # type: ignore[arg-type]
                                .where(ChatIdentity.platform == PLATFORM, Person.active == True)  # noqa: E712
                                .order_by(ChatIdentity.platform_user_id)).all()
        return list(rows)

    async def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        with _translated():
            return await asyncio.to_thread(function, *args, **kwargs)

    async def _send_card(self, chat_id: str, message: OutboundMessage, users: list[str], *, key: str) -> MessageRef:
        task_id = task_id_for(message.incident_id, key)
        card = render.card(message, task_id)
        try:
            sent = await self._call(self.client.message.send, self.agent_id, users,
                                    msg={"msgtype": "template_card", "template_card": card})
        except MessageRefused as exc:
            if _errcode(exc) != TASK_ID_EXISTS:
                raise
            log.info("card %s was sent before a restart; not sent again", task_id)
            sent = {}
        with self.db.unit_of_work() as session:
            if session.get(WeComCard, task_id) is None:
                session.add(WeComCard(task_id=task_id, chat_id=chat_id, userids=users,
                                      response_code=sent.get("response_code"), shown=card))
        return MessageRef(PLATFORM, _CARD + task_id)

    async def _say(self, chat_id: str, message: OutboundMessage) -> None:
        await self._call(self.client.appchat.send, chat_id, "markdown", content=render.markdown(message))

    async def open_thread(self, incident_id: int, first: OutboundMessage, *, key: str) -> tuple[ThreadRef, MessageRef]:
        """Create the incident's group chat (or take the one an interrupted attempt created), then post."""
        users = await asyncio.to_thread(self.recipients)
        if len(users) < 2:
            raise ChatUnavailable("a WeCom group chat needs at least two people with WeCom identities in the directory")
        chat_id = chat_id_for(incident_id, key)
        try:
            await self._call(self.client.appchat.create, chat_id=chat_id, owner=users[0], user_list=users,
                             name=fit_text(first.title, CHAT_NAME_MAX, Unit.CHARS))
        except MessageRefused as exc:
            if _errcode(exc) != CHAT_EXISTS:
                raise
            log.info("WeCom chat %s exists already (an earlier attempt created it): reused", chat_id)
        await self._say(chat_id, first)
        if first.buttons:
            return ThreadRef(PLATFORM, chat_id), await self._send_card(chat_id, first, users, key=key)
        return ThreadRef(PLATFORM, chat_id), MessageRef(PLATFORM, _CHAT + chat_id)

    async def post(self, thread: ThreadRef, message: OutboundMessage, *, key: str) -> MessageRef:
        await self._say(thread.native, message)
        if message.buttons:
            return await self._send_card(thread.native, message, await asyncio.to_thread(self.recipients), key=key)
        return MessageRef(PLATFORM, _CHAT + thread.native)

    async def update(self, ref: MessageRef, message: OutboundMessage, *, key: str) -> MessageRef:
        """A card is updated with its latest response code; without one, or for chat text, it is sent anew."""
        if not ref.native.startswith(_CARD):
            await self._say(ref.native.removeprefix(_CHAT), message)
            return ref
        task_id = ref.native.removeprefix(_CARD)
        with self.db.reader() as session:
            card = session.get(WeComCard, task_id)
        if card is None:
            raise MessageRefused(f"WeCom card {task_id} is not known")
        wanted = render.card(message, task_id) if message.buttons else {"replace_name": render.settled(message)}
        if wanted == card.shown:
            return ref  # unchanged: keep the one-use code for a real change
        if card.response_code is None:
            log.info("card %s has no unused response code; sending a new card", task_id)
            return await self._send_card(card.chat_id, message, card.userids, key=key) if message.buttons else ref
        change = {"template_card": wanted} if message.buttons else {"button": wanted}
        try:
            await self._call(self.client.post, "message/update_template_card", data={
                "userids": card.userids, "agentid": self.agent_id, "response_code": card.response_code, **change})
        except MessageRefused as exc:  # e.g. the code was used by an update interrupted by a crash
            log.info("card %s could not be updated (%s); sending a new card", task_id, exc)
            self._used(task_id, card.response_code, shown=None)
            return await self._send_card(card.chat_id, message, card.userids, key=key) if message.buttons else ref
        self._used(task_id, card.response_code, shown=wanted)
        return ref

    def _used(self, task_id: str, code: str | None, *, shown: dict[str, Any] | None) -> None:
        """The card's response code is spent (one use per code); ``shown`` is what the card now shows."""
        with self.db.unit_of_work() as session:
            fresh = session.get(WeComCard, task_id)
            if fresh is not None:
                if shown is not None:
                    fresh.shown = shown
                if fresh.response_code == code:
                    fresh.response_code = None
                session.add(fresh)
