"""An intake over a real database with a small two-site registry, noise rules and a hand-moved clock."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from handlers.intake import Intake
from incidents.database import Database
from incidents.readings import Reading
from incidents.rules.config import parse_registry, parse_rules_file
from incidents.rules.engine import RuleEngine
from incidents.tables import Alert, Incident, OutboxMessage
from tests.conftest import FakeClock
from tests.factories import Core, make_core

PLATFORMS = ("webchat", "slack")
PROBES = 50


def registry_yaml(probes: int = PROBES) -> str:
    """Cold room D1 (site SH-01) with ``probes`` probes, a UPS and a smoke detector; cold room E1 at SH-02."""
    devices = "".join(f"  d1-probe-{n}: {{site: SH-01, zone: D1, kind: temperature-probe}}\n"
                      for n in range(1, probes + 1))
    return f"""
zones:
  D1: {{site: SH-01, name_zh: 冷库 D1, name_en: Cold room D1, class: cold-room}}
  POWER: {{site: SH-01, name_zh: 配电室, name_en: Power room, class: ambient}}
  DOCK: {{site: SH-01, name_zh: 月台, name_en: Loading docks, class: ambient}}
  E1: {{site: SH-02, name_zh: 冷库 E1, name_en: Cold room E1, class: cold-room}}
devices:
{devices}  e1-probe-1: {{site: SH-02, zone: E1, kind: temperature-probe}}
  ups-main: {{site: SH-01, zone: POWER, kind: ups, name_zh: 主 UPS, name_en: Main UPS}}
  dock-smoke-1: {{site: SH-01, zone: DOCK, kind: smoke-detector}}
"""


RULES = """
rules:
  - id: cold-room-high-temp
    title: {zh: 冷库温度过高, en: Cold room temperature high}
    match: {metric: temperature, zone_class: cold-room}
    type: threshold
    above: 8.0
    clear: {below: 7.5, for: 2m}
    flapping: {window: 30m, max_changes: 2}
    severity: SEV2
  - id: probe-offline
    title: {zh: 温度探头离线, en: Temperature probe offline}
    match: {kinds: temperature-probe}
    type: offline
    after: 5m
    severity: SEV3
  - id: power-loss
    title: {zh: 市电中断, en: Mains power lost}
    match: {metric: on_battery, kinds: ups}
    type: boolean
    severity: SEV2
  - id: smoke-detected
    title: {zh: 检测到烟雾, en: Smoke detected}
    match: {metric: smoke, kinds: smoke-detector}
    type: boolean
    severity: SEV1
grouping:
  - id: probes-offline
    match: {types: offline}
    group_by: [site]
    group_wait: 30s
    group_interval: 5m
inhibit:
  - id: power-loss-mutes-probes
    source: {rules: power-loss}
    target: {types: [offline, threshold]}
    equal: [site]
"""


@dataclass
class Bench:
    """The intake under test with its core, database and clock."""

    intake: Intake
    core: Core
    db: Database
    clock: FakeClock

    def send(self, sensor: str, metric: str, value: float | bool) -> list[int]:
        """One reading, stamped with the clock."""
        return self.intake.readings([Reading(sensor=sensor, metric=metric, value=value, ts=self.clock.now)])

    def wait(self, seconds: float) -> list[int]:
        """Move the clock on and tick."""
        self.clock.advance(seconds=seconds)
        return self.intake.tick()

    def incidents(self) -> list[Incident]:
        with self.db.reader() as session:
            return list(session.exec(select(Incident).order_by(col(Incident.id))))

    def alerts(self, incident_id: int) -> list[Alert]:
        with self.db.reader() as session:
            return list(session.exec(select(Alert).where(Alert.incident_id == incident_id).order_by(col(Alert.id))))

    def outbox(self, platform: str = "webchat") -> Counter[str]:
        """Outbox rows of one platform by operation."""
        with self.db.reader() as session:
            rows = session.exec(select(OutboxMessage).where(OutboxMessage.platform == platform)).all()
        return Counter(row.op for row in rows)

    def posts(self, incident_id: int, platform: str = "webchat") -> list[str]:
        """Titles of the messages posted into an incident's thread, in order."""
        with self.db.reader() as session:
            rows = session.exec(select(OutboxMessage).where(
                OutboxMessage.incident_id == incident_id, OutboxMessage.platform == platform,
                OutboxMessage.op == "post").order_by(col(OutboxMessage.id))).all()
        return [row.payload["message"]["title"] for row in rows]


def make_bench(db: Database, clock: FakeClock, *, rules: str = RULES, probes: int = PROBES) -> Bench:
    """An intake wired as ``bot.bootstrap`` wires it, over ``db``."""
    core = make_core(db, platforms=PLATFORMS, now=clock)
    registry = parse_registry(registry_yaml(probes), source="devices.yaml")
    rules_file = parse_rules_file(rules, source="rules.yaml", registry=registry)
    intake = Intake(db, RuleEngine(rules_file.rules, registry), core.flow, grouping=rules_file.grouping,
                    inhibit=rules_file.inhibit)
    for name, command in intake.commands().items():
        core.router.register(name, command)
    return Bench(intake, core, db, clock)


def at(bench: Bench) -> datetime:
    """The bench's current time."""
    return bench.clock.now
