"""Webhook bodies: Alertmanager v4, PagerDuty Events v2, generic JSON."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from incidents.readings import Reading
from incidents.rules.external import AlertAction, ExternalAlert, GenericIntake
from incidents.severity import Severity
from integrations.webhooks.parse import (
    PayloadError,
    labels_fingerprint,
    parse_alertmanager,
    parse_generic,
    parse_pagerduty,
)

PAYLOADS = Path(__file__).parent.parent / "payloads" / "webhooks"
NOW = datetime(2026, 11, 24, 2, 30, tzinfo=UTC)


def body(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def fixed_key() -> str:
    return "generated-1"


def test_alertmanager_group_gives_one_alert_per_member() -> None:
    group = parse_alertmanager(body("alertmanager_group.json"), now=NOW)
    assert (group.source, group.key, group.receiver, group.truncated) == (
        "alertmanager", '{}:{alertname="WMSDown"}', "wareroom", 0)
    firing, resolved = group.alerts
    assert firing == ExternalAlert(
        source="alertmanager",
        action=AlertAction.TRIGGER,
        dedup_key="a1b2c3d4e5f60718",
        severity=Severity.SEV1,
        title_zh="WMS 接口宕机（wms-1）",
        title_en="WMS API down on wms-1",
        at=datetime(2026, 11, 24, 2, 0, 0, 123456, tzinfo=UTC),
        labels={"alertname": "WMSDown", "site": "SH-01", "severity": "critical", "instance": "wms-1:9100"},
        details={
            "annotations": {"summary": "WMS API down on wms-1", "summary_zh": "WMS 接口宕机（wms-1）"},
            "generator_url": "http://prometheus.local:9090/graph?g0.expr=up%3D%3D0",
            "group_key": '{}:{alertname="WMSDown"}',
            "receiver": "wareroom",
        },
    )
    assert (resolved.action, resolved.dedup_key, resolved.severity) == (
        AlertAction.RESOLVE,
        "0f1e2d3c4b5a6978",
        Severity.SEV3,
    )
    assert resolved.at == datetime(2026, 11, 24, 1, 58, 30, tzinfo=UTC)
    assert resolved.title_zh == resolved.title_en == "WMS API down on wms-2"


def test_alertmanager_refuses_other_versions() -> None:
    with pytest.raises(PayloadError) as caught:
        parse_alertmanager(body("alertmanager_v3.json"), now=NOW)
    assert caught.value.reason == "Alertmanager webhook version '3' is not supported (need \"4\")"


def test_alertmanager_fingerprint_is_computed_as_alertmanager_does_when_absent() -> None:
    # prometheus/common model/signature_test.go: this label set's fingerprint is 5799056148416392346
    expected = f"{5799056148416392346:016x}"
    assert labels_fingerprint({"name": "garland, briggs", "fear": "love is not enough"}) == expected
    assert labels_fingerprint({}) == f"{14695981039346656037:016x}"
    (alert,) = parse_alertmanager(body("alertmanager_no_fingerprint.json"), now=NOW).alerts
    assert alert.dedup_key == labels_fingerprint({"alertname": "X"})


def test_pagerduty_trigger() -> None:
    assert parse_pagerduty(body("pagerduty_trigger.json"), now=NOW) == ExternalAlert(
        source="pagerduty",
        action=AlertAction.TRIGGER,
        dedup_key="reefer-2-door",
        severity=Severity.SEV2,
        title_zh="Reefer unit 2 door open at dock 3",
        title_en="Reefer unit 2 door open at dock 3",
        at=datetime(2026, 11, 24, 2, 5, tzinfo=UTC),
        labels={"source": "reefer-2", "component": "reefer", "group": "dock-3", "class": "door"},
        details={
            "custom_details": {"door_open_s": 420},
            "links": [{"href": "http://yard.local/reefer/2", "text": "Yard view"}],
            "images": [],
        },
    )


def test_pagerduty_trigger_without_key_gets_a_generated_one() -> None:
    alert = parse_pagerduty(body("pagerduty_trigger_no_key.json"), now=NOW, make_key=fixed_key)
    assert (alert.dedup_key, alert.severity, alert.at) == ("generated-1", Severity.SEV3, NOW)
    generated = parse_pagerduty(body("pagerduty_trigger_no_key.json"), now=NOW).dedup_key
    assert len(generated) == 32


def test_pagerduty_acknowledge_and_resolve_join_by_dedup_key() -> None:
    ack = parse_pagerduty(body("pagerduty_acknowledge.json"), now=NOW)
    resolve = parse_pagerduty(body("pagerduty_resolve.json"), now=NOW)
    assert ack == ExternalAlert(
        source="pagerduty",
        action=AlertAction.ACKNOWLEDGE,
        dedup_key="reefer-2-door",
        severity=None,
        title_zh="",
        title_en="",
        at=NOW,
    )
    assert (resolve.action, resolve.dedup_key) == (AlertAction.RESOLVE, "reefer-2-door")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("pagerduty_resolve_no_key.json", "PagerDuty resolve needs a dedup_key"),
        (
            "pagerduty_bad_severity.json",
            "PagerDuty payload.severity 'urgent' is not critical, error, warning or info",
        ),
    ],
)
def test_pagerduty_malformed(name: str, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_pagerduty(body(name), now=NOW)
    assert caught.value.reason == reason


def test_generic_alert_with_chinese_level() -> None:
    assert parse_generic(body("generic_alert.json"), now=NOW) == GenericIntake(
        alerts=(
            ExternalAlert(
                source="generic",
                action=AlertAction.TRIGGER,
                dedup_key="stock.low:SH-01:SKU-D0107",
                severity=Severity.SEV3,
                title_zh="库存低于安全库存：SKU-D0107",
                title_en="Stock below safety stock: SKU-D0107",
                at=NOW,
                labels={"sku": "SKU-D0107", "qty": "180"},
            ),
        )
    )


def test_generic_plain_reading_shape() -> None:
    assert parse_generic(body("generic_reading.json"), now=NOW) == GenericIntake(
        readings=(
            Reading(
                sensor="d1-probe-1",
                metric="temperature",
                value=8.6,
                ts=datetime(2026, 11, 24, 2, 10, tzinfo=UTC),
                source="webhook",
            ),
        )
    )


def test_generic_plain_title_and_generated_key() -> None:
    intake = parse_generic(b'{"title": "Dock door 3 forced", "severity": "SEV2"}', now=NOW, make_key=fixed_key)
    (alert,) = intake.alerts
    assert (alert.title_zh, alert.title_en, alert.severity, alert.dedup_key) == (
        "Dock door 3 forced",
        "Dock door 3 forced",
        Severity.SEV2,
        "generated-1",
    )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            (PAYLOADS / "generic_bad_severity.json").read_bytes(),
            "body: severity 'urgent' is not one of SEV1–SEV4, critical, error, warning, info, 紧急, 严重, 警告, 提醒",
        ),
        (b'{"severity": "SEV2"}', 'body: "title" must be a non-empty string or {"zh": ..., "en": ...}'),
        (b'{"title": "x", "severity": "SEV2", "action": "resolve"}', "body: resolve needs a dedup_key"),
        (b"[1]", "item 1 is not a JSON object"),
        (b"{not json", "JSON body is not valid JSON"),
    ],
)
def test_generic_malformed(raw: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_generic(raw, now=NOW)
    assert caught.value.reason == reason
