"""Scan anomalies (频繁错扫): a burst of mis-scans at a station opens one incident with the mis-shipment
playbook; a mis-shipment pattern per operator; noise control as for sensors; unusable scans refused."""

import json
import uuid
from datetime import timedelta

import pytest

from handlers.ports import CommandInvoked, UserRef
from incidents.database import Database
from incidents.rules.scans import ScanError, parse_scans
from incidents.tables import Incident
from integrations.mqtt.client import RawMessage
from integrations.mqtt.ingest import batch_handler
from integrations.operations_routes import SCANS_TOPIC_PREFIX, scans_in
from tests.conftest import FakeClock
from tests.factories import seed_people
from tests.intake.factories import RULES, Bench, make_bench

SCAN_RULES = RULES.replace("grouping:", """  - id: scan-mismatch-burst
    title: {zh: 频繁错扫, en: Frequent mis-scans}
    type: scan_anomaly
    per: station
    count: 5
    window: 10m
    severity: SEV3
    playbook: mis-shipment
  - id: scan-mis-shipment
    title: {zh: 拣货与订单不符, en: Picked SKU differs from the order}
    type: scan_anomaly
    pattern: mis_shipment
    per: operator
    count: 2
    window: 30m
    severity: SEV3
    playbook: mis-shipment
grouping:""", 1)


def scan_incidents(bench: Bench) -> list[Incident]:
    """The incidents the scan rules opened (the bench's probes go offline on their own meanwhile)."""
    return [i for i in bench.incidents() if i.source == "scans"]


def scan(bench: Bench, station: str, result: str, *, operator: str = "op-7", **extra: str) -> list[int]:
    body = {"station": station, "operator": operator, "order": f"SO-{uuid.uuid4().hex[:6]}", "result": result,
            "at": bench.clock.now.isoformat(), **extra}
    return scans_in(bench.intake, json.dumps(body).encode())


def test_a_burst_of_mis_scans_opens_one_incident_with_the_mis_shipment_playbook(database: Database,
                                                                                 clock: FakeClock) -> None:
    bench = make_bench(database, clock, rules=SCAN_RULES, probes=1)
    for _ in range(3):
        assert scan(bench, "PACK-3", "mismatch") == []
        assert scan(bench, "PACK-3", "ok") == []
        bench.wait(60)
    assert scan(bench, "PACK-3", "unknown-barcode") == []
    (incident_id,) = scan(bench, "PACK-3", "mismatch")  # the fifth within 10 minutes
    for _ in range(4):  # the burst goes on: the same incident, no second one
        bench.wait(30)
        scan(bench, "PACK-3", "mismatch")
    incidents = scan_incidents(bench)
    assert [(i.id, i.playbook_id, i.severity, i.source) for i in incidents] == [
        (incident_id, "mis-shipment", "SEV3", "scans")]
    assert incidents[0].title_en == "Frequent mis-scans: station PACK-3 (5 in 10 min)"
    assert [a.kind for a in bench.alerts(incident_id)] == ["firing"]
    bench.wait(10 * 60 + 1)  # a whole window without a mis-scan: the alert clears, the incident stays open
    assert [a.kind for a in bench.alerts(incident_id)] == ["firing", "resolved"]
    assert len(scan_incidents(bench)) == 1


def test_mis_scans_spread_beyond_the_window_raise_nothing(database: Database, clock: FakeClock) -> None:
    bench = make_bench(database, clock, rules=SCAN_RULES, probes=1)
    for _ in range(12):
        assert scan(bench, "PACK-1", "mismatch") == []
        bench.wait(2.5 * 60)  # 4 per 10 minutes at most
    assert scan_incidents(bench) == []


def test_picked_sku_not_ordered_is_a_mis_shipment_per_operator(database: Database, clock: FakeClock) -> None:
    bench = make_bench(database, clock, rules=SCAN_RULES, probes=1)
    assert scan(bench, "PICK-1", "ok", operator="op-2", sku_ordered="SKU-1", sku_picked="SKU-1") == []
    assert scan(bench, "PICK-1", "mismatch", operator="op-2", sku_ordered="SKU-1", sku_picked="SKU-9") == []
    bench.wait(600)
    (incident_id,) = scan(bench, "PICK-2", "mismatch", operator="op-2", sku_ordered="SKU-4", sku_picked="SKU-5")
    (incident,) = scan_incidents(bench)
    assert incident.id == incident_id
    assert incident.title_en == "Picked SKU differs from the order: operator op-2 (2 in 30 min)"


def test_a_silenced_scan_rule_stays_quiet_and_is_raised_when_the_silence_ends(database: Database,
                                                                            clock: FakeClock) -> None:
    seed_people(database)
    bench = make_bench(database, clock, rules=SCAN_RULES, probes=1)
    reply = bench.core.router.handle(CommandInvoked(
        platform="webchat", dedupe_key="s1", actor=UserRef("webchat", "wangwei"), thread=None,
        received_at=clock.now, name="silence", args=("scan-mismatch-burst", "30m", "scanner", "firmware", "update")))
    assert reply.ok, reply.text
    for _ in range(6):
        assert scan(bench, "PACK-2", "mismatch") == []
    bench.wait(20 * 60)
    assert scan_incidents(bench) == []
    for _ in range(5):  # a new burst, still within the silence
        scan(bench, "PACK-2", "mismatch")
    bench.wait(9 * 60)
    scan(bench, "PACK-2", "mismatch")
    assert scan_incidents(bench) == []
    bench.wait(2 * 60)  # the silence is over and the burst goes on: raised now, once
    assert len(scan_incidents(bench)) == 1


def test_scans_arrive_on_their_mqtt_topic_and_bad_ones_are_dead_lettered(database: Database,
                                                                        clock: FakeClock) -> None:
    bench = make_bench(database, clock, rules=SCAN_RULES, probes=1)
    handle = batch_handler(bench.intake, others={SCANS_TOPIC_PREFIX: lambda p: scans_in(bench.intake, p)})
    good = json.dumps([{"station": "PACK-9", "operator": "op-1", "order": f"SO-{n}", "result": "mismatch",
                        "at": (clock.now + timedelta(seconds=n)).isoformat()} for n in range(5)]).encode()
    bad = b'{"station": "PACK-9", "operator": "op-1", "order": "SO-1", "result": "maybe"}'
    handle([RawMessage("wareroom/scans/sh-01/pack-9", good, 1, 1),
            RawMessage("wareroom/scans/sh-01/pack-9", bad, 2, 1)])
    assert len(scan_incidents(bench)) == 1
    assert bench.intake.stats.rejected == 1


@pytest.mark.parametrize("payload", [b"[", b'{"station": "P"}', b'{"station": "P", "operator": "o", "order": "1", '
                                     b'"result": "ok", "at": "2026-11-25T10:00:00"}', b"[1]",
                                     b'{"station": "P\\u0000", "operator": "o", "order": "1", "result": "ok"}'])
def test_unusable_scan_events_are_refused_with_a_bilingual_reason(payload: bytes) -> None:
    with pytest.raises(ScanError) as caught:
        parse_scans(payload, now=FakeClock.start)
    assert " / " in caught.value.reason
