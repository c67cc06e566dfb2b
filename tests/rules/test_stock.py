"""Stock rules: projected stock below safety stock or reorder point, count variance, negative stock."""

from datetime import UTC, datetime, timedelta
from typing import Any

from incidents.readings import StockLevel
from incidents.rules.config import parse_registry, parse_rules
from incidents.rules.engine import RuleEngine
from incidents.signals import AlertSignal, SignalKind
from tests.rules.factories import REGISTRY_YAML

STOCK_RULES = """
rules:
  - id: stock-below-safety
    title: {zh: 预计库存低于安全库存, en: Projected stock below safety stock}
    type: stock_below
    severity: SEV3
    recipients: [IC]
  - id: below-reorder-point
    title: {zh: 低于再订货点, en: Below reorder point}
    type: stock_below
    below: reorder_point
    quantity: on_hand
    match: {skus: [SKU-7]}
    severity: SEV4
  - id: count-variance
    title: {zh: 盘点差异超限, en: Count variance}
    type: count_variance
    percent: 2
    severity: SEV3
    playbook: count-discrepancy
  - id: negative-stock
    title: {zh: 账面负库存, en: Negative stock}
    type: negative_stock
    match: {zones: D1}
    severity: SEV2
    playbook: count-discrepancy
"""
T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def engine() -> RuleEngine:
    registry = parse_registry(REGISTRY_YAML, source="registry.yaml")
    return RuleEngine(parse_rules(STOCK_RULES, source="rules.yaml", registry=registry), registry)


def level(minute: int = 0, **overrides: Any) -> StockLevel:
    values: dict[str, Any] = {"sku": "SKU-1", "location": "D1-01-02", "zone": "D1", "on_hand": 120.0,
                              "projected": 100.0, "safety_stock": 50.0, "reorder_point": 80.0,
                              "ts": T0 + timedelta(minutes=minute)}
    values.update(overrides)
    return StockLevel(**values)


def brief(signals: list[AlertSignal]) -> list[tuple[SignalKind, str, float | None, float | None]]:
    return [(s.kind, s.rule_id, s.value, s.threshold) for s in signals]


def test_projected_stock_below_safety_stock_fires_once_and_clears() -> None:
    rules = engine()
    assert rules.observe_stock(level(projected=60.0)) == []
    (fired,) = rules.observe_stock(level(1, projected=40.0))
    assert fired.kind is SignalKind.FIRING
    assert (fired.fingerprint, fired.site, fired.zone, fired.metric) == (
        "stock-below-safety:SKU-1@D1-01-02", "SH-01", "D1", "stock:SKU-1")
    assert (fired.value, fired.threshold, fired.recipients) == (40.0, 50.0, ("IC",))
    assert fired.title_zh == "冷库 D1 SKU-1（D1-01-02）预计库存 40，低于安全库存 50"
    assert fired.title_en == "Cold room D1: SKU-1 at D1-01-02 heading to 40, below its safety stock of 50"
    assert rules.observe_stock(level(2, projected=30.0)) == []
    assert brief(rules.observe_stock(level(3, projected=55.0))) == [
        (SignalKind.RESOLVED, "stock-below-safety", 55.0, 50.0)]


def test_reorder_point_on_hand_for_matching_skus_only() -> None:
    rules = engine()
    assert rules.observe_stock(level(on_hand=70.0)) == []  # SKU-1 is not matched
    assert brief(rules.observe_stock(level(sku="SKU-7", on_hand=70.0))) == [
        (SignalKind.FIRING, "below-reorder-point", 70.0, 80.0)]


def test_items_without_safety_stock_are_not_judged() -> None:
    assert engine().observe_stock(level(projected=-5.0, safety_stock=None)) == []


def test_count_variance_beyond_tolerance() -> None:
    rules = engine()
    assert rules.observe_stock(level(counted=118.0, book=120.0)) == []  # −2 of 120: within 2 %
    # the level after the count: on hand already corrected to the count; the book before it is what counts
    (fired,) = rules.observe_stock(level(1, counted=110.0, on_hand=110.0, book=120.0))
    assert (fired.rule_id, fired.value, fired.threshold, fired.playbook) == (
        "count-variance", -10.0, 2.4, "count-discrepancy")
    assert fired.title_en == "Cold room D1: SKU-1 at D1-01-02 counted -10 off the book, beyond ±2.4"
    assert rules.observe_stock(level(2)) == []  # not a count: says nothing about the variance
    assert brief(rules.observe_stock(level(3, counted=121.0, book=120.0))) == [
        (SignalKind.RESOLVED, "count-variance", 1.0, 2.4)]


def test_negative_stock_in_matching_zones() -> None:
    rules = engine()
    assert rules.observe_stock(level(on_hand=0.0, projected=60.0)) == []  # nothing is not less than nothing
    assert rules.observe_stock(level(zone="F1", on_hand=-3.0, projected=60.0)) == []
    (fired,) = rules.observe_stock(level(on_hand=-3.0, projected=60.0))
    assert (fired.rule_id, fired.value, fired.title_en) == (
        "negative-stock", -3.0, "Cold room D1: SKU-1 at D1-01-02 shows negative stock on the book: -3")


def test_unknown_zone_keeps_its_name() -> None:
    (fired,) = engine().observe_stock(level(zone="X9", projected=10.0))
    assert (fired.site, fired.zone, fired.title_en) == (
        None, "X9", "X9: SKU-1 at D1-01-02 heading to 10, below its safety stock of 50")
