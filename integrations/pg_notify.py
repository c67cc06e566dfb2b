"""PostgreSQL ``LISTEN``/``NOTIFY`` plumbing shared by the web chat fan-out and the outbox wake-up.

A listener is a daemon thread with its own autocommit connection (psycopg 3: ``Connection.notifies``);
it reconnects a second after losing the connection, and notifications sent meanwhile are lost (the
users of this module fall back on a re-read or a poll). psycopg is imported here, so only a PostgreSQL
site loads it.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 1.0


def dsn(url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL ``url`` (any driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def connect(conninfo: str) -> "psycopg.Connection[Any]":
    """A new autocommit connection."""
    import psycopg

    return psycopg.connect(conninfo, autocommit=True)


def current_schema(conninfo: str) -> str:
    """The schema the connection's ``search_path`` resolves first (each test schema gets its own channels)."""
    with connect(conninfo) as conn:
        row = conn.execute("SELECT current_schema()").fetchone()
    return str(row[0]) if row else "public"


class Listener:
    """Calls ``on_payload(payload)`` from its thread for every notification on ``channel`` until ``stop()``."""

    def __init__(self, conninfo: str, channel: str, on_payload: Callable[[str], None], *, name: str) -> None:
        self.conninfo = conninfo
        self.channel = channel
        self.on_payload = on_payload
        self.listening = threading.Event()  # set while the LISTEN stands
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end (within a second: the wait between checks)."""
        self._stop.set()

    def _listen(self) -> None:
        import psycopg
        from psycopg import sql

        while not self._stop.is_set():
            try:
                with connect(self.conninfo) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    self.listening.set()
                    while not self._stop.is_set():
                        for notify in conn.notifies(timeout=1.0):
                            self.on_payload(notify.payload)
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning("listener on %s lost its connection (%s); reconnecting", self.channel, exc)
                time.sleep(RECONNECT_SECONDS)
        self.listening.clear()
