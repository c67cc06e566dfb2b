"""Web chat live events across processes: PostgreSQL ``LISTEN``/``NOTIFY`` carries each event to every process.

A browser's live updates (server-sent events) come from the process it is connected to, while the
message may have been delivered by another (the holder of the ``outbox:webchat`` lease) or a click
handled by a third. ``PostgresFanout`` hands each event to the pages of its own process at once, and
sends it with ``pg_notify`` on a channel of the database schema (``wareroom_webchat:<schema>``); a
thread in each process that has pages open listens on that channel and hands what other processes
sent to its pages. PostgreSQL delivers notifications in the order each sender sent them (PostgreSQL
docs, "NOTIFY"). A notification's payload must be under 8000 bytes: a larger message event is sent
as its row id, and the listening process reads the row. Events sent while a listener reconnects are
not replayed: a page re-reads its thread when its event stream reconnects.

SQLite keeps the one-process mode and the plain ``Broadcaster``; psycopg is imported only by ``PostgresFanout``
(about 9 MB of resident memory that a SQLite site does not need).
"""

import json
import logging
import secrets
import threading
from asyncio import AbstractEventLoop, get_running_loop
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from incidents.database import Database
from integrations import pg_notify
from integrations.webchat.adapter import Broadcaster, message_json
from integrations.webchat.store import WebChatMessage

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)
CHANNEL_PREFIX = "wareroom_webchat:"
MAX_NOTIFY_BYTES = 7900  # PostgreSQL refuses a payload of 8000 bytes or more


class PostgresFanout(Broadcaster):
    """A ``Broadcaster`` whose events also reach the pages open on every other process of the same schema."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db
        self._dsn = pg_notify.dsn(db.url)
        self._origin = secrets.token_hex(6)
        self._send_lock = threading.Lock()
        self._sender: psycopg.Connection[Any] | None = None
        self._loop: AbstractEventLoop | None = None
        self.channel = CHANNEL_PREFIX + pg_notify.current_schema(self._dsn)
        self._listener = pg_notify.Listener(self._dsn, self.channel, self._received, name="webchat-listen")
        self._listening = False
        self.listening = self._listener.listening  # set while the listener's LISTEN stands
        self.received = 0  # events from other processes handed to this process's pages

    def publish(self, event: dict[str, Any]) -> None:
        """Hand ``event`` to this process's pages and send it to the others; a failed send is logged."""
        import psycopg  # loaded by ``__init__`` (``current_schema``)

        super().publish(event)
        data = json.dumps({"origin": self._origin, "event": event}, ensure_ascii=False)
        if len(data.encode()) > MAX_NOTIFY_BYTES:
            message = event.get("message") or {}
            data = json.dumps({"origin": self._origin, "message_id": message.get("id")})
        try:
            with self._send_lock:
                if self._sender is None or self._sender.closed:
                    self._sender = pg_notify.connect(self._dsn)
                self._sender.execute("SELECT pg_notify(%s, %s)", (self.channel, data))
        except psycopg.Error as exc:
            log.warning("web chat event not sent to the other processes: %s", exc)
            self._sender = None

    async def subscribe(self) -> AsyncGenerator[str, None]:
        """This process's events and the other processes', as ``Broadcaster.subscribe`` gives them."""
        self._loop = get_running_loop()
        if not self._listening:
            self._listening = True
            self._listener.start()
        async for data in super().subscribe():
            yield data

    def _received(self, payload: str) -> None:
        sent = json.loads(payload)
        if sent.get("origin") == self._origin:
            return
        event = sent.get("event")
        if event is None:
            with self.db.reader() as session:
                row = session.get(WebChatMessage, sent.get("message_id"))
            if row is None:
                return
            event = {"type": "message", "message": message_json(row)}
        self.received += 1
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(Broadcaster.publish, self, event)

    def close(self) -> None:
        """Stop listening and close the sending connection."""
        self._listener.stop()
        with self._send_lock:
            if self._sender is not None:
                self._sender.close()
                self._sender = None


def broadcaster_for(db: Database) -> Broadcaster:
    """Events across processes on PostgreSQL; the in-process broadcaster on SQLite (one process)."""
    return PostgresFanout(db) if db.engine.dialect.name == "postgresql" else Broadcaster()
