"""Stock levels from the inventory side: ``Intake.stock`` opens incidents, grouped per zone."""

from incidents.database import Database
from incidents.readings import StockLevel
from tests.conftest import FakeClock
from tests.intake.factories import make_bench
from tests.rules.test_stock import STOCK_RULES

GROUPED_STOCK_RULES = STOCK_RULES + """
grouping:
  - id: stock-by-zone
    match: {types: stock_below}
    group_by: [site, zone]
    group_wait: 1m
"""


def level(clock: FakeClock, sku: str, **quantities: float) -> StockLevel:
    values = {"on_hand": 20.0, "projected": 10.0, "safety_stock": 30.0} | quantities
    return StockLevel(sku=sku, location="D1-01-01", zone="D1", ts=clock.now, **values)


def test_low_stock_in_one_zone_is_one_incident(database: Database, clock: FakeClock) -> None:
    bench = make_bench(database, clock, rules=GROUPED_STOCK_RULES, probes=1)
    assert bench.intake.stock(level(clock, "SKU-1")) == []
    assert bench.intake.stock(level(clock, "SKU-2")) == []
    (incident_id,) = bench.wait(60)
    (incident,) = bench.incidents()
    assert (incident.id, incident.dedup_key, incident.severity) == (incident_id, "group:stock-by-zone:SH-01/D1", "SEV3")
    assert [(a.sensor, a.value, a.threshold) for a in bench.alerts(incident_id)] == [
        ("SKU-1@D1-01-01", 10.0, 30.0), ("SKU-2@D1-01-01", 10.0, 30.0)]
    assert bench.intake.stats.stock_levels == 2


def test_negative_stock_opens_at_once_with_its_playbook(database: Database, clock: FakeClock) -> None:
    bench = make_bench(database, clock, rules=GROUPED_STOCK_RULES, probes=1)
    (incident_id,) = bench.intake.stock(level(clock, "SKU-9", on_hand=-4.0, projected=40.0))
    (incident,) = bench.incidents()
    assert (incident.id, incident.dedup_key, incident.playbook_id) == (
        incident_id, "SH-01/D1/stock:SKU-9", "count-discrepancy")
    assert incident.title_en == "Cold room D1: SKU-9 at D1-01-01 shows negative stock on the book: -4"
    clock.advance(minutes=5)
    assert bench.intake.stock(level(clock, "SKU-9", on_hand=3.0, projected=40.0)) == [incident_id]
    assert [a.kind for a in bench.alerts(incident_id)] == ["firing", "resolved"]
