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
import time
from asyncio import AbstractEventLoop, get_running_loop
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

from incidents.database import Database
from integrations.webchat.adapter import Broadcaster, message_json
from integrations.webchat.store import WebChatMessage

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)
CHANNEL_PREFIX = "wareroom_webchat:"
MAX_NOTIFY_BYTES = 7900  # PostgreSQL refuses a payload of 8000 bytes or more
RECONNECT_SECONDS = 1.0


class PostgresFanout(Broadcaster):
    """A ``Broadcaster`` whose events also reach the pages open on every other process of the same schema."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db
        url = make_url(db.url)
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._origin = secrets.token_hex(6)
        self._send_lock = threading.Lock()
        self._sender: psycopg.Connection[Any] | None = None
        self._loop: AbstractEventLoop | None = None
        self._listening: threading.Thread | None = None
        self._stop = threading.Event()
        self.listening = threading.Event()  # set while the listener's LISTEN stands
        self.channel = CHANNEL_PREFIX + self._schema()
        self.received = 0  # events from other processes handed to this process's pages

    def _connect(self) -> "psycopg.Connection[Any]":
        import psycopg

        return psycopg.connect(self._dsn, autocommit=True)

    def _schema(self) -> str:
        with self._connect() as conn:
            row = conn.execute("SELECT current_schema()").fetchone()
        return str(row[0]) if row else "public"

    def publish(self, event: dict[str, Any]) -> None:
        """Hand ``event`` to this process's pages and send it to the others; a failed send is logged."""
        import psycopg  # loaded by ``__init__`` (``_schema``)

        super().publish(event)
        data = json.dumps({"origin": self._origin, "event": event}, ensure_ascii=False)
        if len(data.encode()) > MAX_NOTIFY_BYTES:
            message = event.get("message") or {}
            data = json.dumps({"origin": self._origin, "message_id": message.get("id")})
        try:
            with self._send_lock:
                if self._sender is None or self._sender.closed:
                    self._sender = self._connect()
                self._sender.execute("SELECT pg_notify(%s, %s)", (self.channel, data))
        except psycopg.Error as exc:
            log.warning("web chat event not sent to the other processes: %s", exc)
            self._sender = None

    async def subscribe(self) -> AsyncGenerator[str, None]:
        """This process's events and the other processes', as ``Broadcaster.subscribe`` gives them."""
        self._loop = get_running_loop()
        if self._listening is None:
            self._listening = threading.Thread(target=self._listen, name="webchat-listen", daemon=True)
            self._listening.start()
        async for data in super().subscribe():
            yield data

    def _listen(self) -> None:
        import psycopg  # loaded by ``__init__`` (``_schema``)
        from psycopg import sql

        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    self.listening.set()
                    while not self._stop.is_set():
                        for notify in conn.notifies(timeout=1.0):
                            self._received(notify.payload)
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning("web chat listener lost its connection (%s); reconnecting", exc)
                time.sleep(RECONNECT_SECONDS)

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
        self._stop.set()
        with self._send_lock:
            if self._sender is not None:
                self._sender.close()
                self._sender = None


def broadcaster_for(db: Database) -> Broadcaster:
    """Events across processes on PostgreSQL; the in-process broadcaster on SQLite (one process)."""
    return PostgresFanout(db) if db.engine.dialect.name == "postgresql" else Broadcaster()
