"""An Alertmanager group is one incident: its alerts listed, re-sends adding nothing, resolved alerts recorded one
by one in one message; per receiver, one incident per alert instead (case 12 and the corpus)."""

import json
from dataclasses import replace

from sqlmodel import col, select

from incidents.database import Database
from incidents.rules.external import AlertAction, ExternalGroup
from incidents.tables import Alert, OutboxMessage
from integrations.webhooks.parse import parse_alertmanager, parse_pagerduty
from tests.conftest import FakeClock
from tests.decode.corpus import REAL
from tests.intake.factories import Bench, make_bench

CASE_12 = (REAL / "alertmanager" / "case-12-300-alert-group.json").read_bytes()


def group(bench: Bench, body: bytes) -> ExternalGroup:
    return parse_alertmanager(body, now=bench.clock.now)


def resolving(notification: ExternalGroup, count: int) -> ExternalGroup:
    """The same group with its first ``count`` alerts resolved."""
    alerts = [replace(a, action=AlertAction.RESOLVE) if n < count else a for n, a in enumerate(notification.alerts)]
    return replace(notification, alerts=tuple(alerts))


def posts(bench: Bench, incident_id: int) -> list[str]:
    with bench.db.reader() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.incident_id == incident_id,
                                                        OutboxMessage.platform == "webchat")
                            .order_by(col(OutboxMessage.id))).all()
    return [row.op + ":" + (row.payload["message"].get("body") or row.payload["message"]["title"]) for row in rows]


def test_a_group_of_300_is_one_incident(database: Database, clock: FakeClock) -> None:
    bench = make_bench(database, clock, probes=1)
    notification = group(bench, CASE_12)
    (incident_id,) = bench.intake.external_group(notification)
    assert bench.intake.external_group(notification) == [incident_id]  # Alertmanager re-sends the group
    (incident,) = bench.incidents()
    assert (incident.title_en, incident.severity) == ("Temperature logger 001 is down", "SEV3")
    assert len(bench.alerts(incident_id)) == 300
    sent = posts(bench, incident_id)
    assert len(sent) <= 6, sent
    assert any(p.startswith("post:300 alerts in this group: logger-001.sh01.example:9100") and p.endswith("+290")
               for p in sent)
    bench.intake.external_group(resolving(notification, 2))
    assert posts(bench, incident_id)[len(sent):][0].startswith("post:Resolved alerts of this group (2): logger-001")
    bench.intake.external_group(resolving(notification, 2))  # the same again: nothing new
    bench.intake.external_group(resolving(notification, 300))
    with bench.db.reader() as session:
        kinds = [a.kind for a in session.exec(select(Alert).where(Alert.incident_id == incident_id))]
    assert (kinds.count("firing"), kinds.count("resolved")) == (300, 300)
    assert bench.incidents()[0].cleared_at is not None
    assert posts(bench, incident_id)[-2].endswith("The incident still needs someone to resolve it.")
    assert len(posts(bench, incident_id)) <= 12


def test_one_incident_per_alert_when_the_receiver_says_so(database: Database, clock: FakeClock) -> None:
    bench = make_bench(database, clock, probes=1)
    body = json.loads(CASE_12)
    body["alerts"] = body["alerts"][:5]
    touched = bench.intake.external_group(group(bench, json.dumps(body).encode()), per="alert")
    assert len(touched) == len(bench.incidents()) == 5


def test_grafana_group_and_truncated_alerts(database: Database, clock: FakeClock) -> None:
    bench = make_bench(database, clock, probes=1)
    (grafana,) = bench.intake.external_group(group(bench, (REAL / "grafana" / "webhook-notifier-example.json")
                                                    .read_bytes()))
    (truncated,) = bench.intake.external_group(group(bench, (REAL / "alertmanager" / "truncated-group.json")
                                                      .read_bytes()))
    assert [len(bench.alerts(i)) for i in (grafana, truncated)] == [2, 3]
    assert any("(Alerts the sender left out: 2700)" in p for p in posts(bench, truncated))


def test_a_nul_from_a_sender_is_stored_escaped(database: Database, clock: FakeClock) -> None:
    bench = make_bench(database, clock, probes=1)
    body = {"routing_key": "k" * 32, "event_action": "trigger", "dedup_key": "door\u0000 3",
            "payload": {"summary": "Dock door 3 forced\u0000", "source": "yard\u0000", "severity": "error"}}
    incident_id = bench.intake.external(parse_pagerduty(json.dumps(body).encode(), now=clock.now))
    (incident,) = bench.incidents()
    assert (incident.id, incident.title_en, incident.dedup_key) == (incident_id, "Dock door 3 forced\\x00",
                                                                   "pagerduty:door\\x00 3")
