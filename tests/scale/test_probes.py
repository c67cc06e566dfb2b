"""``/readyz`` says whether the database and the broker answer; ``/livez`` whether the lease loops go round."""

from pathlib import Path

import pytest

from tests.e2e.server import app_settings, free_port, running, wait_for

pytestmark = pytest.mark.mosquitto


def test_ready_and_alive_with_the_leases_held(tmp_path: Path, database_url: str) -> None:
    with running(app_settings(tmp_path, database_url)) as http:
        ready = wait_for(lambda: (answer := http.get("/readyz")).status_code == 200 and answer)
        assert ready.json() == {"status": "ready", "problems": []}
        alive = wait_for(lambda: (answer := http.get("/livez")).json()["scheduler_lease"]["held"] and answer)
        assert alive.status_code == 200
        assert alive.json()["leases"]["outbox:webchat"]["held"] is True and alive.json()["status"] == "alive"


def test_not_ready_while_the_broker_cannot_be_reached(tmp_path: Path, sqlite_url: str) -> None:
    nowhere = f"mqtt://127.0.0.1:{free_port()}"  # nothing listens there; paho keeps retrying
    with running(app_settings(tmp_path, sqlite_url, mqtt_url=nowhere)) as http:
        answer = http.get("/readyz")
        assert answer.status_code == 503
        assert answer.json() == {"status": "not ready", "problems": ["broker: not connected"]}
        assert http.get("/livez").status_code == 200  # alive all the same: restarting would not help
