"""The built-in browser chat: a ChatPort whose "platform" is the app's own page."""

import asyncio
import json
import logging
from collections.abc import AsyncGenerator
from typing import Any

from sqlmodel import col, select

from handlers.ports import Capabilities, MessageRef, OutboundMessage, ThreadRef
from incidents.clock import utcnow
from incidents.database import Database
from integrations.webchat.store import WebChatMessage

log = logging.getLogger(__name__)
PLATFORM = "webchat"


def message_json(row: WebChatMessage) -> dict[str, Any]:
    """The shape the page renders."""
    return {"id": row.id, "incident_id": row.incident_id, "header": row.is_header, "version": row.version,
            "at": row.created_at.isoformat(), **row.payload}


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

    def thread(self, incident_id: int) -> list[dict[str, Any]]:
        """Every message of an incident's thread, oldest first."""
        with self.db.reader() as session:
            rows = session.exec(select(WebChatMessage).where(WebChatMessage.incident_id == incident_id)
                                .order_by(col(WebChatMessage.id))).all()
        return [message_json(r) for r in rows]
