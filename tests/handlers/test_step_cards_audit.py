"""A new incident's first step cards: their step rows and audit events, written with one flush, keep the chain."""

import json

from sqlmodel import col, select

from incidents import audit
from incidents.database import Database
from incidents.severity import Severity
from incidents.tables import Incident, OutboxMessage, StepRun
from playbooks.run_state import RunState
from tests.conftest import FakeClock
from tests.factories import make_core, make_signal, seed_people


def _fire(zone: str) -> dict[str, object]:
    return {"rule_id": "smoke-detected", "fingerprint": f"smoke-detected:{zone}", "severity": Severity.SEV1,
            "title_zh": f"{zone} 烟感报警", "title_en": f"Smoke alarm {zone}", "zone": zone, "sensor": f"smoke-{zone}",
            "metric": "smoke", "value": 1.0, "threshold": None, "playbook": "fire-evacuation"}


def test_a_new_fire_incident_audits_one_step_per_card_in_order_and_the_chain_verifies(
        database: Database, clock: FakeClock) -> None:
    seed_people(database)
    core = make_core(database, now=clock)
    first = core.flow.on_signal(make_signal(**_fire("D1")))
    second = core.flow.on_signal(make_signal(**_fire("D2")))
    assert first is not None and second is not None and first != second
    loaded = core.playbooks.library["fire-evacuation"]
    with database.reader() as session:
        assert audit.verify_chain(session).ok
        for incident_id in (first, second):
            incident = session.get(Incident, incident_id)
            assert incident is not None and incident.playbook_state is not None
            current = core.playbooks.current_ids(incident)
            assert len(current) >= 3
            posts = session.exec(select(OutboxMessage).where(OutboxMessage.incident_id == incident_id)
                                 .order_by(col(OutboxMessage.id))).all()
            cards = [p for p in posts if p.idempotency_key.split(":")[2] == "step"]
            assert [p.idempotency_key.split(":")[3] for p in cards] == current
            steps = [e for e in audit.trail(session, incident_id=incident_id) if e.object_type == "step"]
            assert [(e.action, e.object_id, e.after) for e in steps] == \
                [("step.active", step_id, {"status": "active"}) for step_id in current]
            runs = session.exec(select(StepRun).where(StepRun.incident_id == incident_id)).all()
            assert sorted((r.step_id, r.status) for r in runs) == sorted((s, "active") for s in current)
            assert any("王伟 Wang Wei" in json.dumps(p.payload, ensure_ascii=False) for p in cards)  # SL holder
            # each card names the same people as a card built on its own, role look-up by role look-up
            state = RunState.from_json(incident.playbook_state)
            for post, step_id in zip(cards, current, strict=True):
                alone = core.playbooks._card(session, incident_id, loaded, state, step_id)
                assert post.payload["message"] == json.loads(json.dumps(alone.to_json()))

