"""Dead letters of the outbox in the web app and /metrics: listed, counted, sent again by an admin (audited)."""

from pathlib import Path

import httpx
from sqlmodel import select

from bot.app import create_app
from incidents import outbox
from incidents.database import Database
from incidents.identity.tokens import Scope
from incidents.tables import AuditEvent, OutboxMessage, Person
from tests.e2e.server import act_as, app_settings, service_token
from tests.factories import make_core, make_signal, seed_people


async def test_a_dead_letter_is_listed_counted_and_sent_again(tmp_path: Path, database_url: str) -> None:
    database = Database(database_url)
    incident_id = make_core(database, platforms=("slack",)).flow.on_signal(make_signal())
    assert incident_id is not None
    with database.unit_of_work() as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.op == "post")).first()
        assert row is not None
        outbox.park(session, row, error="refused: slack: invalid_blocks")
        row_id = row.id
    people = seed_people(database)
    with database.unit_of_work() as session:  # 李娜 administers this site
        lina = session.get_one(Person, people["lina"])
        lina.admin = True
        session.add(lina)
    admin = act_as(database_url, "lina", Scope.READ, Scope.ADMIN)
    app = create_app(app_settings(tmp_path, database_url))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wareroom") as anonymous:
        assert (await anonymous.get("/api/v1/outbox/dead-letters")).status_code == 401
        reader = {"Authorization": f"Bearer {service_token(database_url, Scope.READ)}"}
        assert (await anonymous.get("/api/v1/outbox/dead-letters", headers=reader)).status_code == 403
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wareroom",
                                 headers=admin) as http:
        [letter] = (await http.get("/api/v1/outbox/dead-letters")).json()
        assert (letter["id"], letter["platform"]) == (row_id, "slack")
        assert letter["error"] == "refused: slack: invalid_blocks"
        assert 'wareroom_outbox_dead_letters{platform="slack"} 1.0' in (await http.get("/metrics")).text
        assert "重试 Retry" in (await http.get("/outbox")).text
        assert (await http.get("/api/v1/outbox/dead-letters", params={"limit": 0})).status_code == 422
        answer = await http.post(f"/api/v1/outbox/dead-letters/{row_id}/retry")
        assert answer.json() == {"id": row_id, "status": "pending"}
        assert (await http.post(f"/api/v1/outbox/dead-letters/{row_id}/retry")).status_code == 404
        assert (await http.get("/api/v1/outbox/dead-letters")).json() == []
    with database.reader() as session:
        [audited] = session.exec(select(AuditEvent).where(AuditEvent.action == "outbox.retried")).all()
    assert audited.actor_name == "李娜 Li Na" and audited.object_id == str(row_id) and audited.before == {
        "status": "dead", "attempts": 1, "last_error": "refused: slack: invalid_blocks"}
    app.state.runtime.db.dispose()
    database.dispose()
