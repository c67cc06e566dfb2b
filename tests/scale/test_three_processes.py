"""Three ``wareroom serve`` processes on the real PostgreSQL and a real Mosquitto, against the fake Slack: readings,
alarms, escalations and clicks, with the lease holder SIGKILLed in an escalation wait and in a burst of deliveries.

Checked: every alarm opened exactly one incident, every escalation fired exactly once, and every outbox message
reached Slack and the web chat exactly once and in order per thread (Slack finds a post sent just before a crash
by its metadata, so the new holder does not send it again; the web chat keeps one row per outbox key).
"""

import json
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import col, select

from bench.common import client, mosquitto
from handlers import callbacks
from incidents.database import Database
from incidents.identity.tokens import Scope
from incidents.leases import PostgresLeases
from incidents.tables import Alert, AuditEvent, OutboxMessage
from integrations.slack.adapter import METADATA_EVENT
from integrations.webchat.store import WebChatMessage
from tests.e2e.server import wait_for
from tests.factories import seed_people
from tests.fakes.live_server import live_server
from tests.fakes.slack_api import FakeSlack
from tests.identity.web import personal_token
from tests.scale.processes import Process
from tests.scale.serve import Replica, holder_pid, start_replica

pytestmark = [pytest.mark.postgres, pytest.mark.mosquitto]
TTL = 3.0
ESCALATE_AFTER_S = 5
SH01, SH02 = [f"smoke-{n}" for n in range(1, 9)], ["smoke-20", "smoke-21"]
LEASES = ("scheduler", "outbox:webchat", "outbox:slack", "intake:rest", "intake:SH-01.1of2", "intake:SH-01.2of2")


def _site_files(tmp: Path) -> dict[str, str]:
    """Smoke detectors at two sites (SH-01 split in two partitions, SH-02 in the rest), a SEV2 smoke rule."""
    sites = {**dict.fromkeys(SH01, "SH-01"), **dict.fromkeys(SH02, "SH-02")}  # a zone each: an incident each
    zones = "".join(f"  Z-{d}: {{site: {site}, name_zh: 月台 {d}, name_en: Dock {d}, class: ambient}}\n"
                    for d, site in sites.items())
    devices = "".join(f"  {d}: {{site: {site}, zone: Z-{d}, kind: smoke-detector}}\n" for d, site in sites.items())
    (tmp / "devices.yaml").write_text(f"zones:\n{zones}devices:\n{devices}", encoding="utf-8")
    (tmp / "site-rules.yaml").write_text("""
rules:
  - id: smoke-detected
    title: {zh: 检测到烟雾, en: Smoke detected}
    match: {metric: smoke, kinds: smoke-detector}
    type: boolean
    severity: SEV2
system:
  broker_drops: {severity: SEV2, enabled: false}
""", encoding="utf-8")
    return {"WAREROOM_DEVICES_FILE": str(tmp / "devices.yaml"), "WAREROOM_RULES_FILE": str(tmp / "site-rules.yaml")}


def _alerts(database: Database) -> list[Alert]:
    with database.reader() as session:
        return list(session.exec(select(Alert).where(Alert.kind == "firing").order_by(col(Alert.id))))


def _escalations(database: Database) -> Counter[int]:
    with database.reader() as session:
        return Counter(e.incident_id or 0 for e in session.exec(select(AuditEvent).where(
            AuditEvent.action == "incident.escalated")))


def _rows(database: Database, platform: str) -> list[OutboxMessage]:
    with database.reader() as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.platform == platform)
                                 .order_by(col(OutboxMessage.id))))


def _kill(replica: Replica, running: list[Replica]) -> None:
    os.kill(replica.pid, signal.SIGKILL)
    replica.process.popen.wait()
    running.remove(replica)


def _holder(leases: PostgresLeases, name: str, running: list[Replica]) -> Replica:
    pid = wait_for(lambda: holder_pid(leases, name), timeout=6 * TTL)
    return next(r for r in running if r.pid == pid)


def test_three_processes_alarm_escalate_and_deliver_once_across_two_kills(
        tmp_path: Path, pg_url: str, processes: list[Process]) -> None:
    database, leases = Database(pg_url), PostgresLeases(pg_url)
    people = seed_people(database)
    token = personal_token(database, people["wangwei"], Scope.READ, Scope.ACT)
    slack = FakeSlack()
    with live_server(slack.app) as slack_url, mosquitto("") as broker:
        env = {**_site_files(tmp_path), "WAREROOM_MQTT_PARTITIONS": '{"SH-01": 2}',
               "WAREROOM_MQTT_CLIENT_ID": f"wareroom-three-{uuid.uuid4().hex[:8]}",  # the same on every replica
               "WAREROOM_SLACK_BOT_TOKEN": "xoxb-test", "WAREROOM_SLACK_CHANNEL": "C-OPS",
               "WAREROOM_SLACK_SIGNING_SECRET": "slack-signing-secret", "WAREROOM_SLACK_API_URL": f"{slack_url}/api/"}
        running = [start_replica(tmp_path, pg_url, escalate_after_s=ESCALATE_AFTER_S, ttl_s=TTL, mqtt_url=broker,
                                 **env) for _ in range(3)]
        processes.extend(r.process for r in running)
        for replica in running:
            replica.wait_ready(timeout=90)
        for name in LEASES:
            _holder(leases, name, running)
        publisher = client(broker)

        def alarm(*devices: str) -> None:
            for device in devices:  # smoke seen twice, as detectors repeat themselves: still one incident
                for _ in range(2):
                    body = json.dumps({"sensor": device, "metric": "smoke", "value": True}).encode()
                    publisher.publish(f"wareroom/sensors/{device}", body, qos=1).wait_for_publish(5)

        def incidents_of(devices: list[str]) -> Callable[[], bool]:
            return lambda: {a.sensor for a in _alerts(database)} >= set(devices)

        try:
            # wave 1: read by whichever process holds each partition
            first_wave = [*SH01[:3], SH02[0]]
            alarm(*first_wave)
            wait_for(incidents_of(first_wave), timeout=30)
            # the scheduler's holder dies while the escalations wait; wave 2 is queued for the partitions it held
            _kill(_holder(leases, "scheduler", running), running)
            second_wave = [SH01[3], SH02[1]]
            alarm(*second_wave)
            wait_for(incidents_of(first_wave + second_wave), timeout=30)
            incident_ids = sorted({a.incident_id for a in _alerts(database)})
            wait_for(lambda: set(_escalations(database)) >= set(incident_ids), timeout=ESCALATE_AFTER_S + 8 * TTL)

            # a burst of clicks on both survivors; Slack's holder dies with a post in flight
            wait_for(lambda: all(r.status == "sent" for r in _rows(database, "slack")), timeout=60)
            slack.slow_posts = {len(slack.called("chat.postMessage")) + 3}
            for n, incident_id in enumerate(incident_ids):
                click = {"token": callbacks.encode("ack", incident_id)}
                answer = running[n % 2].http.post("/api/v1/clicks", json=click,
                                                  headers={"Authorization": f"Bearer {token}"})
                assert answer.status_code == 200 and answer.json()["ok"], answer.text
            try:
                wait_for(lambda: slack.paused, timeout=30)
            except AssertionError:
                rows = [(r.incident_id, r.op, r.status, r.last_error) for r in _rows(database, "slack")]
                raise AssertionError(f"{Counter(c.method for c in slack.calls)} {rows}") from None
            _kill(_holder(leases, "outbox:slack", running), running)
            slack.paused.clear()
            wait_for(lambda: holder_pid(leases, "outbox:slack") == running[0].pid, timeout=6 * TTL)
            wait_for(lambda: all(r.status == "sent" for r in _rows(database, "slack") + _rows(database, "webchat")),
                     timeout=60)
            time.sleep(TTL)  # a late second firing or delivery has every chance to show
        finally:
            publisher.loop_stop()
            publisher.disconnect()

    alerts = _alerts(database)
    incident_of = {a.sensor or "": {b.incident_id for b in alerts if b.sensor == a.sensor} for a in alerts}
    assert sorted(incident_of) == sorted(first_wave + second_wave)  # every alarm opened an incident:
    assert all(len(ids) == 1 for ids in incident_of.values())  # one (a repeat, or a reading handled again by
    assert len({next(iter(ids)) for ids in incident_of.values()}) == len(incident_of)  # a new holder, joins it)
    assert _escalations(database) == Counter(dict.fromkeys(incident_ids, 1))
    posted = [call.params["metadata"]["event_payload"]["key"] for call in slack.calls
              if call.method == "chat.postMessage" and call.params.get("metadata", {}).get("event_type") ==
              METADATA_EVENT]
    assert [key for key, times in Counter(posted).items() if times > 1] == []  # no post twice
    for incident_id in incident_ids:
        keys = [r.idempotency_key for r in _rows(database, "slack")
                if r.incident_id == incident_id and r.op in ("open_thread", "post")]
        assert [k for k in posted if k.startswith(f"i{incident_id}:")] == keys  # all, once, in order
        with database.reader() as session:
            shown = [m.idempotency_key for m in session.exec(select(WebChatMessage).where(
                WebChatMessage.incident_id == incident_id).order_by(col(WebChatMessage.id)))]
        assert shown == [r.idempotency_key for r in _rows(database, "webchat")
                         if r.incident_id == incident_id and r.op in ("open_thread", "post")]
    leases.dispose()
    database.dispose()
