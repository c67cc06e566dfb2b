"""Bindings of sensors with equal labels share one labels dict; each signal gets labels of its own."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import SHIPPED_RULES, write_site
from incidents.readings import Reading
from incidents.rules.bindings import bind
from incidents.rules.config import load_registry, load_rules_file
from incidents.rules.engine import RuleEngine


def test_sensors_with_equal_labels_share_them_and_signals_get_copies(tmp_path: Path) -> None:
    registry = load_registry(write_site(tmp_path, probes=40, zones=2))
    rules = load_rules_file(SHIPPED_RULES, registry).rules
    engine = RuleEngine(rules, registry)
    at = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    fired = [s for step in range(40) for s in engine.observe(
        Reading(sensor="probe-3", metric="temperature", value=9.5, ts=at + timedelta(seconds=10 * step)))]
    three, four = (engine._route(f"probe-{n}", "temperature") for n in (3, 4))
    assert three and all(b.labels is c.labels for b, c in zip(three, four, strict=True))
    for b in three:  # shared, yet what binding the rule alone gives
        device = registry.devices["probe-3"]
        alone = bind(b.rule, "probe-3", device, registry.zones[device.zone])
        assert alone is not None and alone.labels == b.labels and alone.labels is not b.labels
    assert fired and fired[0].labels["rule_type"] == "threshold"
    fired[0].labels["note"] = "changed by a reader"
    assert "note" not in three[0].labels and "note" not in four[0].labels
