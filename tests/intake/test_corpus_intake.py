"""The whole intake on the corpus of real payloads, with the shipped rules: no false alarm, no dead letter for
valid input, the right incident where one is due, unregistered devices listed (tests/payloads/real)."""

from collections import defaultdict
from typing import Any

import pytest
from sqlmodel import col, select

from handlers.intake import Intake
from incidents.database import Database
from incidents.inventory.tables import SensorSample
from incidents.rules.config import load_registry, load_rules_file
from incidents.rules.engine import RuleEngine
from incidents.tables import Alert, DeadLetter, Incident
from integrations.mqtt.client import RawMessage
from integrations.mqtt.ingest import batch_handler
from tests.conftest import FakeClock
from tests.decode.corpus import DEVICES, decoder, messages, mqtt_entries
from tests.factories import ROOT, make_core

REGISTRY = load_registry(DEVICES)
RULES = load_rules_file(ROOT / "config" / "rules.yaml", REGISTRY)


def make_intake(db: Database, clock: FakeClock) -> Intake:
    """An intake wired as bot.bootstrap wires it, over the corpus registry and the shipped rules."""
    core = make_core(db, now=clock)
    return Intake(db, RuleEngine(RULES.rules, REGISTRY), core.flow, grouping=RULES.grouping, inhibit=RULES.inhibit,
                  system=RULES.system)


@pytest.mark.parametrize("entry", mqtt_entries(), ids=lambda e: e["name"])
def test_corpus_through_the_intake(entry: dict[str, Any], database: Database, clock: FakeClock) -> None:
    intake = make_intake(database, clock)
    handle = batch_handler(intake, decoder(entry))
    sent = messages(entry)
    handle([RawMessage(m.topic, m.payload, n, 1) for n, m in enumerate(sent, start=1)])
    clock.advance(minutes=6)
    last = sent[-1]
    if last.expect.get("readings"):
        handle([RawMessage(last.topic, last.payload, 99, 1)])
    intake.tick()
    with database.reader() as session:
        letters = session.exec(select(DeadLetter)).all()
        rules = {a.rule_id for i in session.exec(select(Incident.id)).all()
                 for a in session.exec(select(Alert).where(Alert.incident_id == i))}
        samples = session.exec(select(SensorSample).order_by(col(SensorSample.id))).all()
    assert len(letters) == sum("error" in m.expect for m in sent), [d.reason for d in letters]
    assert rules == set(entry["incidents"])
    assert intake.stats.poison == 0
    stored: dict[str, set[str]] = defaultdict(set)
    for sample in samples:
        stored[sample.sensor].add(sample.metric)
    for device, metrics in entry.get("devices", {}).items():
        assert set(metrics) <= stored[device], (device, dict(stored))
    assert sorted(d.name for d in intake.unknown.listed()) == sorted(entry.get("unknown", []))
