"""The built-in browser chat: a ChatPort whose "platform" is the app's own page."""

import asyncio
import json
import logging
import re
from collections.abc import AsyncGenerator
from typing import Any

from sqlmodel import col, select

from handlers.ports import Capabilities, MessageRef, OutboundMessage, ThreadRef
from incidents.clock import as_utc, utcnow
from incidents.database import Database
from incidents.tables import ChatIdentity, Person
from integrations.webchat.store import WebChatMessage

log = logging.getLogger(__name__)
PLATFORM = "webchat"
PRIVATE_TO = "private_to"  # payload key of a reply only one viewer sees
NO_INCIDENT = 0  # the thread of replies to commands sent outside any incident
_STEP_KEY = re.compile(r"^i\d+:webchat:step:(?P<step>.+):\d+$")  # handlers.notify key of a step card


def message_json(row: WebChatMessage) -> dict[str, Any]:
    """The shape the page renders: the message's fields, plus ``step_id`` on a playbook step's card."""
    step = _STEP_KEY.match(row.idempotency_key)
    return {"id": row.id, "incident_id": row.incident_id, "header": row.is_header, "version": row.version,
            "at": as_utc(row.created_at).isoformat(), "step_id": step["step"] if step else None, **row.payload}


def viewer_key(*, person_id: int | None, user: str | None) -> str | None:
    """Who a private reply is for: ``person:7`` for a verified person, ``user:zhangmin`` for the demo's pick;
    None for a caller that is neither (a service token)."""
    if person_id is not None:
        return f"person:{person_id}"
    return f"user:{user}" if user else None


class Broadcaster:
    """Fans live events out to every open page (server-sent events)."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[str]] = set()

    def publish(self, event: dict[str, Any]) -> None:
        data = json.dumps(event, ensure_ascii=False)
        for queue in list(self._queues):
            if queue.qsize() < 1000:
                queue.put_nowait(data)

    async def subscribe(self) -> AsyncGenerator[str, None]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._queues.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.discard(queue)


class WebChat:
    """ChatPort for the web chat; delivery is a row in its table plus a live event."""

    platform = PLATFORM
    capabilities = Capabilities(can_edit=True, max_buttons=10, max_text_bytes=64_000, has_threads=True)

    def __init__(self, db: Database, broadcaster: Broadcaster) -> None:
        self.db = db
        self.broadcaster = broadcaster

    def _store(self, incident_id: int, message: OutboundMessage, *, key: str, header: bool) -> WebChatMessage:
        with self.db.unit_of_work() as session:
            existing = session.exec(select(WebChatMessage).where(WebChatMessage.idempotency_key == key)).first()
            if existing is not None:  # delivered before a crash: never show it twice
                return existing
            row = WebChatMessage(incident_id=incident_id, idempotency_key=key, is_header=header,
                                 payload=message.to_json())
            session.add(row)
        self.broadcaster.publish({"type": "message", "message": message_json(row)})
        return row

    async def open_thread(self, incident_id: int, first: OutboundMessage, *, key: str) -> tuple[ThreadRef, MessageRef]:
        row = self._store(incident_id, first, key=key, header=True)
        self.broadcaster.publish({"type": "incident", "incident_id": incident_id})
        return ThreadRef(PLATFORM, str(incident_id)), MessageRef(PLATFORM, str(row.id))

    async def post(self, thread: ThreadRef, message: OutboundMessage, *, key: str) -> MessageRef:
        row = self._store(int(thread.native), message, key=key, header=False)
        return MessageRef(PLATFORM, str(row.id))

    async def update(self, ref: MessageRef, message: OutboundMessage, *, key: str) -> MessageRef:
        with self.db.unit_of_work() as session:
            row = session.get(WebChatMessage, int(ref.native))
            if row is None:
                raise LookupError(f"web chat message {ref.native} does not exist")
            row.payload, row.version, row.updated_at = message.to_json(), row.version + 1, utcnow()
            session.add(row)
        self.broadcaster.publish({"type": "message", "message": message_json(row)})
        if row.is_header:
            self.broadcaster.publish({"type": "incident", "incident_id": row.incident_id})
        return ref

    def reply(self, incident_id: int | None, *, viewer: str, command: str, text: str, ok: bool,
              key: str) -> dict[str, Any]:
        """Keep the answer to ``viewer``'s command (or click) in the thread, seen by that viewer only (the
        changes a command makes are posted for everyone by the core); ``incident_id`` None keeps it in the
        viewer's own thread of replies (``NO_INCIDENT``). Not broadcast: the page that asked shows it."""
        title, _, body = text.partition("\n")
        payload = {"title": title, "body": body, "tone": "ok" if ok else "alert", "reply": True, "ok": ok,
                   "command": command, PRIVATE_TO: viewer}
        with self.db.unit_of_work() as session:
            existing = session.exec(select(WebChatMessage).where(WebChatMessage.idempotency_key == key)).first()
            row = existing or WebChatMessage(incident_id=incident_id or NO_INCIDENT, idempotency_key=key,
                                             payload=payload)
            session.add(row)
        return message_json(row)

    def people(self) -> list[dict[str, Any]]:
        """Everyone with a web chat identity: ``{user, name, roles}`` (the demo's people to act as)."""
        with self.db.reader() as session:
            rows = session.exec(select(Person, ChatIdentity).where(
                ChatIdentity.person_id == Person.id, ChatIdentity.platform == PLATFORM).order_by(col(Person.id))).all()
        return [{"user": ident.platform_user_id, "name": f"{p.name_zh} {p.name_en}", "roles": p.roles}
                for p, ident in rows]

    def thread(self, incident_id: int, *, viewer: str | None = None) -> list[dict[str, Any]]:
        """Every message of an incident's thread that ``viewer`` may see (everyone's, and the replies kept for
        them), oldest first."""
        with self.db.reader() as session:
            rows = session.exec(select(WebChatMessage).where(WebChatMessage.incident_id == incident_id)
                                .order_by(col(WebChatMessage.id))).all()
        return [message_json(r) for r in rows if r.payload.get(PRIVATE_TO, viewer) == viewer]
