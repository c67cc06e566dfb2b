"""Playbook timers and actions in the running app: a real broker, the real scheduler, a restart."""

import json
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import select

from incidents import directory
from incidents.database import Database
from incidents.tables import ActionRun, AuditEvent
from tests.e2e.server import act_as, app_settings, running, wait_for
from tests.factories import LIBRARY, seed_people

pytestmark = pytest.mark.mosquitto
GENERATOR = "wareroom/site/SH-01/generator/command"
DRILL = """apiVersion: playbook.warehouse/v1
id: drill
version: 1
title: {zh: 演练, en: Drill}
severity: SEV3
triggers: {commands: [drill]}
roles: [SL, WM]
steps:
  - id: muster
    title: {zh: 集合点名, en: Muster and count}
    role: SL
    timeouts: {ack: 2s, on_timeout: escalate, escalate_to: WM}
"""


def _people(database: Database) -> None:
    seed_people(database)
    with database.unit_of_work() as session:
        directory.add_person(session, name_zh="刘洋", name_en="Liu Yang", roles=["MT"],
                             identities=[("webchat", "liuyang")])
        directory.add_person(session, name_zh="周涛", name_en="Zhou Tao", roles=["MT"],
                             identities=[("webchat", "zhoutao")])


def _audit(database: Database, action: str) -> list[AuditEvent]:
    with database.reader() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


def test_generator_start_is_published_once_after_the_named_role_confirms(tmp_path: Path, sqlite_url: str) -> None:
    database = Database(sqlite_url)
    _people(database)
    received: list[bytes] = []
    listener = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="")
    subscribed = threading.Event()
    listener.on_message = lambda _c, _u, message: received.append(bytes(message.payload))
    listener.on_subscribe = lambda *_: subscribed.set()
    listener.connect("127.0.0.1", 1883)
    listener.subscribe(GENERATOR, qos=1)
    listener.loop_start()
    assert subscribed.wait(5)
    try:
        with running(app_settings(tmp_path, sqlite_url)) as http:
            def say(user: str, text: str, incident_id: int | None = None) -> dict[str, object]:
                answer = http.post("/webchat/command", json={"text": text, "incident_id": incident_id},
                                   headers=act_as(sqlite_url, user))
                result: dict[str, object] = answer.json()
                return result

            declared = say("wangwei", "/incident 停电 POWER")
            incident_id = int(str(declared["text"]).split()[0].lstrip("#"))
            assert say("liuyang", "/done scope site_wide", incident_id)["ok"]
            assert say("liuyang", "/done generator-check 否", incident_id)["ok"]
            with database.reader() as session:
                run = session.exec(select(ActionRun).where(ActionRun.step_id == "start-generator")).one()
            token = f"v1:act:{incident_id}:{run.id}"
            time.sleep(1.0)
            assert received == []  # nothing is sent before the maintenance technician confirms
            own = http.post("/webchat/click", json={"token": token}, headers=act_as(sqlite_url, "liuyang")).json()
            assert not own["ok"] and "four eyes" in own["text"]  # his answer asked for it
            other = act_as(sqlite_url, "zhoutao")
            clicks = [http.post("/webchat/click", json={"token": token}, headers=other).json() for _ in range(2)]
            assert [c["ok"] for c in clicks] == [True, False]
            wait_for(lambda: received)
            wait_for(lambda: _audit(database, "action.executed"))
            time.sleep(1.0)
            thread = http.get(f"/webchat/incidents/{incident_id}/messages").json()
    finally:
        listener.loop_stop()
        listener.disconnect()
    assert [json.loads(p) for p in received] == [{"command": "start", "reason": "power_loss"}]
    assert len(_audit(database, "action.executed")) == 1
    assert any(m["title"].startswith(f"已执行：MQTT {GENERATOR}") for m in thread)
    card = next(m for m in thread if m["title"].startswith("待确认操作"))
    assert card["buttons"] == [] and ["✅", "周涛 Zhou Tao"] in card["fields"]
    database.dispose()


def test_a_step_timer_that_falls_due_while_the_app_is_down_fires_once(tmp_path: Path, database_url: str) -> None:
    library = tmp_path / "playbooks"
    library.mkdir()
    (library / "drill.yaml").write_text(DRILL, encoding="utf-8")
    for loaded in LIBRARY.values():  # keep the real library beside the drill
        (library / loaded.path.name).write_bytes(loaded.path.read_bytes())
    database = Database(database_url)
    settings = app_settings(tmp_path, database_url, playbook_dir=library)
    with running(settings) as http:
        _people(database)
        answer = http.post("/webchat/command", json={"text": "/incident drill D1"},
                           headers=act_as(database_url, "wangwei")).json()
        assert answer["ok"], answer
        opened = time.monotonic()
    time.sleep(max(0.0, 3.0 - (time.monotonic() - opened)))
    with running(settings):
        [event] = wait_for(lambda: _audit(database, "step.timer.ack"))
        assert event.object_id == "muster"
        time.sleep(1.5)
    assert len(_audit(database, "step.timer.ack")) == 1
    database.dispose()
