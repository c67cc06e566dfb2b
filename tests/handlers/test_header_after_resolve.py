"""The incident's header card shows its current step while it is open, and none once it is resolved or closed
(it said "步骤 Step 1/… " for ever before), on SQLite and PostgreSQL."""

from typing import Any

from sqlmodel import col, select

from handlers.ports import CommandInvoked, UserRef
from handlers.text import label
from incidents.database import Database
from incidents.tables import OutboxMessage
from tests.conftest import FakeClock
from tests.factories import Core, make_core, seed_people


def _say(core: Core, user: str, text: str, n: int, incident_id: int | None = None) -> str:
    name, *args = text.lstrip("/").split()
    reply = core.router.handle(CommandInvoked(
        platform="webchat", dedupe_key=f"h{n}", actor=UserRef("webchat", user), thread=None,
        received_at=FakeClock.start, incident_id=incident_id, name=name, args=tuple(args)))
    assert reply.ok, reply.text
    return reply.text


def _header_fields(database: Database) -> dict[str, str]:
    with database.reader() as session:
        row = session.exec(select(OutboxMessage).where(col(OutboxMessage.op).in_(["post_header", "update_header"]),
                                                       OutboxMessage.platform == "webchat")
                           .order_by(col(OutboxMessage.id).desc())).first()
    assert row is not None
    message: dict[str, Any] = row.payload["message"]
    return {str(k): str(v) for k, v in message["fields"]}


def test_no_current_step_once_resolved_or_closed(database: Database) -> None:
    seed_people(database)
    core = make_core(database)
    declared = _say(core, "lina", "/incident equipment A1 叉车液压故障 forklift hydraulics", 1)
    incident_id = int(declared.split()[0].lstrip("#"))
    step = label("step")
    _say(core, "lina", "/ack", 2, incident_id)
    assert _header_fields(database)[step].startswith("1/")  # open: its first step is current
    _say(core, "lina", "/resolve override 叉车已修好 forklift repaired", 3, incident_id)
    fields = _header_fields(database)
    assert step not in fields and fields[label("status")] == label("status_resolved")
    _say(core, "lina", "/close", 4, incident_id)
    fields = _header_fields(database)
    assert step not in fields and fields[label("status")] == label("status_closed")
    _say(core, "lina", "/reopen 又漏油 leaking again", 5, incident_id)
    assert _header_fields(database)[step].startswith("1/")  # reopened: the step it stopped at is current again
