"""The WeCom ChatPort: an app group chat per incident, and button cards sent to the people of the directory."""

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Iterator
from typing import Any

from sqlmodel import select
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import APILimitedException

from handlers.ports import Capabilities, ChatUnavailable, MessageRef, OutboundMessage, RateLimited, ThreadRef
from incidents.database import Database
from incidents.tables import ChatIdentity, Person
from integrations.outbound import DeliveryLimits, Rate
from integrations.wecom import render
from integrations.wecom.store import WeComCard

log = logging.getLogger(__name__)
PLATFORM = "wecom"
LIMIT_BACKOFF_SECONDS = 60.0  # 45009 carries no retry-after; minute-level blocks last 60 s
CHAT_NAME_MAX = 50
# App messages: 30 a minute to the same member; appchat: 200 a minute per member. Text is at most 2,048 bytes.
LIMITS = DeliveryLimits(rates=(Rate(burst=20, per_seconds=60.0),), max_size=2000, size_in_bytes=True)
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


class WeComChat:
    """ChatPort over wechatpy; every wechatpy call runs in a worker thread (it is synchronous)."""

    platform = PLATFORM
    capabilities = Capabilities(can_edit=True, max_buttons=render.MAX_BUTTONS, max_text_bytes=2048, has_threads=True)
    limits = LIMITS

    def __init__(self, client: WeComClient, db: Database, agent_id: int) -> None:
        self.client = client
        self.db = db
        self.agent_id = agent_id

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

    async def _send_card(self, chat_id: str, message: OutboundMessage, users: list[str]) -> MessageRef:
        task_id = f"inc_{message.incident_id or 0}_{time.time_ns() // 1_000_000}"  # unique forever per app
        card = render.card(message, task_id)
        sent = await self._call(self.client.message.send, self.agent_id, users,
                                msg={"msgtype": "template_card", "template_card": card})
        with self.db.unit_of_work() as session:
            session.add(WeComCard(task_id=task_id, chat_id=chat_id, userids=users,
                                  response_code=sent.get("response_code"), shown=card))
        return MessageRef(PLATFORM, _CARD + task_id)

    async def _say(self, chat_id: str, message: OutboundMessage) -> None:
        await self._call(self.client.appchat.send, chat_id, "markdown", content=render.markdown(message))

    async def open_thread(self, incident_id: int, first: OutboundMessage, *, key: str) -> tuple[ThreadRef, MessageRef]:
        users = await asyncio.to_thread(self.recipients)
        if len(users) < 2:
            raise ChatUnavailable("a WeCom group chat needs at least two people with WeCom identities in the directory")
        chat_id = f"wr{incident_id}n{hashlib.sha1(key.encode()).hexdigest()[:12]}"  # [0-9a-zA-Z], at most 32
        await self._call(self.client.appchat.create, chat_id=chat_id, name=first.title[:CHAT_NAME_MAX],
                         owner=users[0], user_list=users)
        await self._say(chat_id, first)
        if first.buttons:
            return ThreadRef(PLATFORM, chat_id), await self._send_card(chat_id, first, users)
        return ThreadRef(PLATFORM, chat_id), MessageRef(PLATFORM, _CHAT + chat_id)

    async def post(self, thread: ThreadRef, message: OutboundMessage, *, key: str) -> MessageRef:
        await self._say(thread.native, message)
        if message.buttons:
            return await self._send_card(thread.native, message, await asyncio.to_thread(self.recipients))
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
            raise LookupError(f"WeCom card {task_id} is not known")
        wanted = render.card(message, task_id) if message.buttons else {"replace_name": render.settled(message)}
        if wanted == card.shown:
            return ref  # unchanged: keep the one-use code for a real change
        if card.response_code is None:
            log.info("card %s has no unused response code; sending a new card", task_id)
            return await self._send_card(card.chat_id, message, card.userids) if message.buttons else ref
        change = {"template_card": wanted} if message.buttons else {"button": wanted}
        await self._call(self.client.post, "message/update_template_card", data={
            "userids": card.userids, "agentid": self.agent_id, "response_code": card.response_code, **change})
        with self.db.unit_of_work() as session:
            fresh = session.get(WeComCard, task_id)
            if fresh is not None:
                fresh.shown = wanted
                if fresh.response_code == card.response_code:
                    fresh.response_code = None  # one use per code
                session.add(fresh)
        return ref
