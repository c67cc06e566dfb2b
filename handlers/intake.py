"""Readings and external alerts in, incidents out: the rules engine's decisions applied to the domain.

The engine keeps its state in memory and decides cheaply; the database is written only when a
signal changes something (an incident opens or joins, a condition clears) or input is unusable.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from handlers.incident_flow import IncidentFlow
from incidents.clock import as_utc, utcnow
from incidents.database import Database
from incidents.readings import Reading
from incidents.rules.engine import RuleEngine
from incidents.rules.external import AlertAction, ExternalAlert
from incidents.severity import Severity
from incidents.signals import AlertSignal, SignalKind
from incidents.tables import DeadLetter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rejected:
    """Input that could not be used, and why (kept as a dead letter)."""

    source: str
    topic: str
    payload: str
    reason: str


@dataclass
class IntakeStats:
    readings: int = 0
    signals: int = 0
    rejected: int = 0
    unknown_devices: set[str] = field(default_factory=set)


class Intake:
    def __init__(self, db: Database, engine: RuleEngine, flow: IncidentFlow) -> None:
        self.db = db
        self.engine = engine
        self.flow = flow
        self.stats = IntakeStats()

    def readings(self, readings: Iterable[Reading]) -> list[int]:
        """Feed readings to the rules; returns the incidents they opened or touched."""
        touched: list[int] = []
        for reading in readings:
            self.stats.readings += 1
            for signal in self.engine.observe(reading):
                touched.extend(self.signal(signal))
        self._note_unknown()
        return touched

    def tick(self) -> list[int]:
        """Let time-based rules (``for`` durations, offline sensors) fire without a new reading."""
        touched: list[int] = []
        for signal in self.engine.tick(utcnow()):
            touched.extend(self.signal(signal))
        return touched

    def signal(self, signal: AlertSignal) -> list[int]:
        """Apply one signal (from the rules or an external system)."""
        self.stats.signals += 1
        signal_at = as_utc(signal.at)
        log.info("%s %s %s at %s", signal.kind, signal.rule_id, signal.sensor or signal.fingerprint, signal_at)
        incident_id = self.flow.on_signal(signal)
        return [incident_id] if incident_id is not None else []

    def external(self, alert: ExternalAlert) -> int | None:
        """An alert raised by another system: trigger opens or joins, resolve clears, acknowledge acks."""
        fingerprint = f"{alert.source}:{alert.dedup_key}"
        if alert.action is AlertAction.ACKNOWLEDGE:
            return self.flow.acknowledge_external(dedup_key=fingerprint, source=alert.source)
        labels = dict(alert.labels)
        rule = labels.get("alertname") or labels.get("rule") or alert.source
        signal = AlertSignal(
            kind=SignalKind.RESOLVED if alert.action is AlertAction.RESOLVE else SignalKind.FIRING,
            rule_id=rule, fingerprint=fingerprint, severity=alert.severity or Severity.SEV3,
            title_zh=alert.title_zh or alert.title_en or rule, title_en=alert.title_en or alert.title_zh or rule,
            at=alert.at, site=labels.get("site"), zone=labels.get("zone"), sensor=labels.get("instance"),
            metric=labels.get("metric"), playbook=labels.get("playbook") or self.flow.playbooks.for_alert(rule),
            source=alert.source, labels=labels,
        )
        touched = self.signal(signal)
        return touched[0] if touched else None

    def reject(self, rejected: Iterable[Rejected]) -> None:
        """Keep unusable input with its reason; the next message is processed normally."""
        rows = [DeadLetter(source=r.source, topic=r.topic, payload=r.payload[:65_536], reason=r.reason)
                for r in rejected]
        if not rows:
            return
        self.stats.rejected += len(rows)
        for row in rows:
            log.warning("rejected %s message on %s: %s", row.source, row.topic, row.reason)
        with self.db.unit_of_work() as session:
            session.add_all(rows)

    def _note_unknown(self) -> None:
        unknown = set(getattr(self.engine, "unknown_devices", set()))
        new = unknown - self.stats.unknown_devices
        if new:
            self.stats.unknown_devices |= new
            self.reject(Rejected("mqtt", device, "", f"device {device!r} is not in the device registry")
                        for device in sorted(new))
