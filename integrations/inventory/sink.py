"""Stock events from a WMS into the ledger, then to the stock rules (``Intake.stock``).

One MQTT message or HTTP body is one transaction: either every event in it is applied and
audited, or none is and the body is kept as a dead letter with the reason (MQTT: by
``integrations.mqtt.ingest``, which hands each ``wareroom/stock/`` message to ``receive``).
"""

from collections.abc import Callable
from datetime import datetime

from handlers.intake import Intake
from incidents.actors import Actor
from incidents.clock import utcnow
from incidents.database import Database
from incidents.inventory.events import StockEventError, apply_event, parse_events
from incidents.inventory.ledger import BadMove
from incidents.readings import StockLevel

STOCK_TOPIC_PREFIX = "wareroom/stock/"


class StockEventSink:
    def __init__(self, db: Database, intake: Intake, now: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.intake = intake
        self.now = now

    def receive(self, body: bytes, *, source: str) -> list[StockLevel]:
        """Apply every event of a body (StockEventError, nothing applied, when one is wrong)."""
        events = parse_events(body)
        actor = Actor(person_id=None, name=f"WMS ({source})", platform=source)
        try:
            with self.db.unit_of_work() as session:
                levels = [level for event in events
                          for level in apply_event(session, event=event, actor=actor, now=self.now())]
        except BadMove as exc:
            raise StockEventError(str(exc)) from exc
        for level in levels:
            self.intake.stock(level)
        return levels
