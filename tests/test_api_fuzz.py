"""Schemathesis against the running app's own OpenAPI (issue 16 §6): bounded examples plus its boundary values
(ids beyond 32 and 64 bits, negative and huge limits, NUL in text), on SQLite and PostgreSQL: no 5xx."""

import subprocess
import sys
from pathlib import Path

import pytest

from incidents.database import Database
from tests.e2e.server import app_settings, running
from tests.factories import seed_people

pytestmark = pytest.mark.mosquitto
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
STREAMS = "/webchat/events"  # server-sent events: a response that never ends


def test_no_request_gets_a_server_error(tmp_path: Path, database_url: str) -> None:
    database = Database(database_url)
    seed_people(database)
    database.dispose()
    settings = app_settings(tmp_path, database_url)
    with running(settings) as http:
        http.post("/api/v1/alerts", json={"title": {"zh": "冷库 D1", "en": "Cold room D1"}, "severity": "SEV3",
                                          "dedup_key": "fuzz-1", "labels": {"zone": "D1"}})  # one incident exists
        run = subprocess.run(
            [str(SCHEMATHESIS), "run", f"http://127.0.0.1:{settings.http_port}/openapi.json",
             "--checks", "not_a_server_error", "--max-examples", "30", "--seed", "20261125", "--workers", "1",
             "--phases", "examples,coverage,fuzzing", "--generation-allow-x00", "true", "--exclude-path", STREAMS,
             "--request-timeout", "30", "--warnings", "off"],
            capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path)  # its cache stays there
    summary = run.stdout.split("Test cases:")[-1].strip().splitlines()[0] if "Test cases:" in run.stdout else "?"
    print(f"\nschemathesis: {summary}")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
