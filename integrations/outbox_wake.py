"""Wakes the outbox lanes of every process on PostgreSQL as soon as rows for them are committed.

A transaction that adds outbox rows also runs ``pg_notify('wareroom_outbox:<schema>', '<platform>')``
for each platform it wrote to. PostgreSQL delivers a notification only when (and if) its transaction
commits, in commit order, and folds identical notifications of one transaction into one (PostgreSQL
docs, "NOTIFY"), so a notified process always finds the rows. Each process that runs delivery lanes
listens on the channel and wakes that platform's lanes. Without it, rows written by another process
(a click handled by one replica while another holds ``outbox:<platform>``) wait for the lane's next
poll (``WAREROOM_DISPATCHER_POLL_SECONDS``). SQLite has one process: ``OutboxDispatcher.wake`` after the
commit is all it needs.
"""

from collections.abc import Callable
from weakref import WeakKeyDictionary

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from incidents.database import Database
from incidents.outbox import PLATFORMS_WRITTEN
from incidents.tables import OutboxMessage
from integrations import pg_notify

CHANNEL_PREFIX = "wareroom_outbox:"
_NOTIFY = text("SELECT pg_notify(:channel, platform) FROM unnest(CAST(:platforms AS text[])) AS platform")
_channels: WeakKeyDictionary[Engine, str] = WeakKeyDictionary()  # engines whose transactions notify: channel


def _platforms_written(session: Session) -> set[str]:
    return {row.platform for row in session.new if isinstance(row, OutboxMessage)}


@event.listens_for(Session, "after_flush")
def _remember(session: Session, _context: object) -> None:
    if session.bind in _channels:
        session.info.setdefault(PLATFORMS_WRITTEN, set()).update(_platforms_written(session))


@event.listens_for(Session, "before_commit")
def _notify(session: Session) -> None:
    kept = session.info.pop(PLATFORMS_WRITTEN, set())  # incidents.outbox.append's rows, not in session.new
    channel = _channels.get(session.bind) if isinstance(session.bind, Engine) else None
    if channel is None:
        return
    platforms = kept | _platforms_written(session)
    if platforms:
        session.execute(_NOTIFY, {"channel": channel, "platforms": sorted(platforms)})


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(PLATFORMS_WRITTEN, None)


class RemoteWake:
    """Sends (through ``db``'s transactions) and receives the outbox's notifications for ``db``'s schema."""

    def __init__(self, db: Database, wake: Callable[[str], None]) -> None:
        self._dsn = pg_notify.dsn(db.url)
        self.channel = CHANNEL_PREFIX + pg_notify.current_schema(self._dsn)
        self._wake = wake
        self._listener: pg_notify.Listener | None = None
        _channels[db.engine] = self.channel

    def listen(self) -> pg_notify.Listener:
        """Start listening (a thread); a second call returns the running listener."""
        if self._listener is None:
            self._listener = pg_notify.Listener(self._dsn, self.channel, self._wake, name="outbox-listen")
            self._listener.start()
        return self._listener

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
