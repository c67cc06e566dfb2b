"""The running app: stock look-ups and events over HTTP and MQTT (real Mosquitto), and review downloads."""

import json
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import col, select

from incidents.database import Database
from incidents.tables import DeadLetter
from tests.e2e.server import app_settings, running, wait_for
from tests.review.scenario import play_cold_room_incident

pytestmark = pytest.mark.mosquitto


def _publish(topic: str, payload: bytes) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"stock-test-{topic}")
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    client.publish(topic, payload, qos=1).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()


def _dead_letters(database: Database) -> list[str]:
    with database.reader() as session:
        return [d.reason for d in session.exec(select(DeadLetter).order_by(col(DeadLetter.id)))]


def test_stock_and_reviews_through_the_running_app(tmp_path: Path, sqlite_url: str) -> None:
    database = Database(sqlite_url)
    incident_id = play_cold_room_incident(database).incident_id
    with running(app_settings(tmp_path, sqlite_url)) as http:
        before = http.get("/api/v1/stock/SKU-D0101").json()
        assert (before["sku"], before["on_hand"], before["available"], before["status"]) == (
            "SKU-D0101", 262.0, 0.0, "OUT")  # its only available stock is in an expired lot
        assert before["expired"] == 262.0 and before["expiring"] == 0.0
        unknown = http.get("/api/v1/stock/insulin")
        assert unknown.status_code == 404 and len(unknown.json()["suggestions"]) == 5

        picked = http.post("/api/v1/stock/events", json={"kind": "pick", "sku": "SKU-D0101", "qty": 10,
                                                          "location": "D1-01-03-1", "lot": "L2610G38",
                                                          "reference": "WAVE-T1"})
        assert picked.status_code == 202
        assert picked.json()["levels"] == [{"sku": "SKU-D0101", "location": "D1-01-03-1", "zone": "D1",
                                            "on_hand": 228.0, "projected": 168.0}]
        refused = http.post("/api/v1/stock/events", json=[{"kind": "pick", "sku": "SKU-D0101", "qty": 1,
                                                           "location": "D1-01-03-1", "lot": "L2610G38"},
                                                          {"kind": "pick", "sku": "NOPE", "qty": 1,
                                                           "location": "D1-01-03-1"}])
        assert refused.status_code == 400
        assert refused.json()["message"] == "没有 SKU NOPE / There is no SKU NOPE"
        assert http.get("/api/v1/stock/SKU-D0101").json()["on_hand"] == 252.0  # neither event of that body

        _publish("wareroom/stock/SH-01", json.dumps({"kind": "count", "sku": "SKU-D0101", "counted": 200,
                                                     "location": "D1-01-03-1", "lot": "L2610G38",
                                                     "actor": "count team"}).encode())
        wait_for(lambda: http.get("/api/v1/stock/SKU-D0101").json()["on_hand"] == 224.0)
        _publish("wareroom/stock/SH-01", b'{"kind": "pick", "sku": "SKU-D0101", "qty": 3, "location": "D1-01-03-1"}')
        wait_for(lambda: any("is lot-tracked" in reason for reason in _dead_letters(database)))

        for fmt, media in (("md", "text/markdown"), ("html", "text/html"), ("pdf", "application/pdf"),
                           ("json", "application/json"), ("csv", "text/csv")):
            response = http.get(f"/api/v1/incidents/{incident_id}/review.{fmt}")
            assert response.status_code == 200 and response.headers["content-type"].startswith(media)
        assert http.get("/api/v1/incidents/999/review.md").status_code == 404
        assert http.get(f"/api/v1/incidents/{incident_id}/review.docx").status_code == 422
    database.dispose()
