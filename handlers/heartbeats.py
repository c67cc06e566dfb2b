"""Senders' dead-man switches: silence opens a system incident; the next heartbeat clears it."""

from collections.abc import Mapping

from handlers.incident_flow import IncidentFlow
from handlers.text import CATALOGUE
from incidents import service
from incidents.contacts import heartbeats
from incidents.contacts.tables import ExpectedHeartbeat
from incidents.severity import Severity
from incidents.signals import AlertSignal, SignalKind

RULE = "integration-heartbeat"


class HeartbeatWatch:
    def __init__(self, flow: IncidentFlow, expected: Mapping[str, int]) -> None:
        self.flow = flow
        self.expected = dict(expected)

    def declare(self) -> None:
        """Store the declared heartbeats (at start-up)."""
        with self.flow.ctx.db.unit_of_work() as session:
            heartbeats.declare(session, self.expected, now=self.flow.ctx.now())

    def _signal(self, name: str, kind: SignalKind, seconds: int) -> AlertSignal:
        zh, en = CATALOGUE["heartbeat_silent_title"]
        return AlertSignal(kind=kind, rule_id=RULE, fingerprint=f"system:{RULE}:{name}", severity=Severity.SEV2,
                           title_zh=zh.format(name=name, seconds=seconds), title_en=en.format(name=name,
                                                                                              seconds=seconds),
                           at=self.flow.ctx.now(), source="system", labels={"integration": name})

    def beat(self, name: str) -> bool:
        """A heartbeat from ``name``: recorded, and its open silence incident cleared. False when not declared."""
        with self.flow.ctx.db.unit_of_work() as session:
            row = heartbeats.beat(session, name, now=self.flow.ctx.now())
            if row is None:
                return False
            row.incident_id, timeout = None, row.timeout_seconds
            cleared = self._signal(name, SignalKind.RESOLVED, timeout)
            silent = service.find_open(session, dedup_key=service.incident_key(cleared)) is not None
        if silent:
            self.flow.on_signal(cleared)
        return True

    def check(self) -> list[int]:
        """Open a system incident for each heartbeat silent beyond its timeout; the incidents opened."""
        with self.flow.ctx.db.reader() as session:
            found = [(row.name, row.timeout_seconds, row.last_seen_at)
                     for row in heartbeats.silent(session, now=self.flow.ctx.now())]
        opened = []
        for name, timeout, seen in found:
            incident_id = self.flow.on_signal(self._signal(name, SignalKind.FIRING, timeout))
            if incident_id is None:
                continue
            with self.flow.ctx.db.unit_of_work() as session:
                stored = session.get(ExpectedHeartbeat, name)
                if stored is not None and stored.last_seen_at == seen:  # no heartbeat came in meanwhile
                    stored.incident_id = incident_id
                    session.add(stored)
            opened.append(incident_id)
        return opened
