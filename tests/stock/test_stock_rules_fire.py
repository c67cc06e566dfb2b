"""Each stock rule fires, and keeps quiet, on real stock events through the ledger (issue 11, item 11), on
SQLite and PostgreSQL: the count variance is held to the book BEFORE the count adjusts it."""

import json
from typing import Any

from sqlmodel import col, select

from incidents.database import Database
from incidents.inventory.catalog import ensure_location, ensure_zone, item_by_sku, set_reorder_rule, upsert_item
from incidents.tables import Alert
from integrations.inventory.sink import StockEventSink
from tests.conftest import FakeClock
from tests.intake.factories import Bench, make_bench
from tests.rules.test_stock import STOCK_RULES

BIN = "D1-01-02"


def _bench(database: Database, clock: FakeClock) -> tuple[Bench, StockEventSink]:
    bench = make_bench(database, clock, rules=STOCK_RULES, probes=1)
    with database.unit_of_work() as session:
        zone = ensure_zone(session, code="D1", kind="cold")
        ensure_location(session, code=BIN, zone=zone)
        for sku in ("SKU-1", "SKU-7"):
            upsert_item(session, sku=sku, name_zh=f"测试 {sku}", name_en=f"Test {sku}")
            set_reorder_rule(session, item=item_by_sku(session, sku), reorder_point=80.0, safety_stock=50.0)
    return bench, StockEventSink(database, bench.intake, now=clock)


def _send(sink: StockEventSink, clock: FakeClock, **event: Any) -> None:
    clock.advance(minutes=1)
    sink.receive(json.dumps({"location": BIN, "sku": "SKU-1"} | event).encode(), source="api")


def _fired(bench: Bench) -> list[tuple[str, float | None, float | None]]:
    with bench.db.reader() as session:
        return [(a.rule_id, a.value, a.threshold) for a in session.exec(select(Alert).order_by(col(Alert.id)))
                if a.kind == "firing"]


def test_count_variance_is_held_to_the_book_before_the_count(database: Database, clock: FakeClock) -> None:
    bench, sink = _bench(database, clock)
    _send(sink, clock, kind="receipt", qty=120)
    _send(sink, clock, kind="count", counted=118)  # −2 of a book of 120: within 2 %
    assert _fired(bench) == []
    _send(sink, clock, kind="count", counted=108)  # −10 of a book of 118 (the last count's): beyond 2.36
    assert _fired(bench) == [("count-variance", -10.0, 2.36)]
    (incident,) = bench.incidents()
    assert incident.playbook_id == "count-discrepancy"


def test_projected_stock_below_safety_stock(database: Database, clock: FakeClock) -> None:
    bench, sink = _bench(database, clock)
    _send(sink, clock, kind="receipt", qty=100)
    _send(sink, clock, kind="reserve", qty=40)  # projected 60: above the safety stock of 50
    assert _fired(bench) == []
    _send(sink, clock, kind="reserve", qty=20)  # projected 40
    assert ("stock-below-safety", 40.0, 50.0) in _fired(bench)


def test_on_hand_below_the_reorder_point(database: Database, clock: FakeClock) -> None:
    bench, sink = _bench(database, clock)
    _send(sink, clock, kind="receipt", qty=90, sku="SKU-7")
    assert _fired(bench) == []  # 90 on hand: above the reorder point of 80
    _send(sink, clock, kind="pick", qty=20, sku="SKU-7")
    assert _fired(bench) == [("below-reorder-point", 70.0, 80.0)]


def test_negative_stock_on_the_book(database: Database, clock: FakeClock) -> None:
    bench, sink = _bench(database, clock)
    _send(sink, clock, kind="receipt", qty=100)
    _send(sink, clock, kind="pick", qty=100)  # nothing left, but not less than nothing
    assert [rule for rule, *_ in _fired(bench) if rule == "negative-stock"] == []
    _send(sink, clock, kind="pick", qty=3)
    assert ("negative-stock", -3.0, 0.0) in _fired(bench)
