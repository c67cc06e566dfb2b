"""Webhook bodies are parsed and applied in the webhooks' own worker thread, never on the event loop (whose
other work, the lease renewals above all, a body of thousands of alerts would hold up), one after another."""

import threading
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from incidents.database import Database
from integrations.webhooks.routes import build_router
from tests.conftest import FakeClock
from tests.decode.corpus import REAL
from tests.intake.factories import make_bench

PAGERDUTY = {"routing_key": "k" * 32, "event_action": "trigger", "dedup_key": "dock-3",
             "payload": {"summary": "Dock door 3 forced", "source": "yard", "severity": "error"}}


def test_bodies_are_applied_in_the_worker_thread(sqlite_url: str, clock: FakeClock) -> None:
    database = Database(sqlite_url)
    bench = make_bench(database, clock, probes=1)
    seen: list[str] = []
    group, external = bench.intake.external_group, bench.intake.external

    def noting_group(*args: Any, **kwargs: Any) -> list[int]:
        seen.append(threading.current_thread().name)
        return group(*args, **kwargs)

    def noting_external(*args: Any, **kwargs: Any) -> int | None:
        seen.append(threading.current_thread().name)
        return external(*args, **kwargs)

    bench.intake.external_group = noting_group  # type: ignore[method-assign]
    bench.intake.external = noting_external  # type: ignore[method-assign]
    app = FastAPI()
    app.include_router(build_router(bench.intake, lambda: None))
    with TestClient(app) as http:
        case_12 = http.post("/api/v1/alerts/alertmanager",
                            content=(REAL / "alertmanager" / "case-12-300-alert-group.json").read_bytes())
        pagerduty = http.post("/api/v1/alerts/events", json=PAGERDUTY)
        plain = http.post("/api/v1/alerts", json={"title": "Forklift 7 battery low", "severity": "warning"})
        broken = http.post("/api/v1/alerts/alertmanager", content=b'{"version": "4"')
    assert [r.status_code for r in (case_12, pagerduty, plain, broken)] == [202, 202, 202, 400]
    assert len(case_12.json()["incidents"]) == 1 and len(bench.alerts(case_12.json()["incidents"][0])) == 300
    assert len(seen) == 3 and all(name.startswith("webhook-intake") for name in seen), seen
    database.dispose()
