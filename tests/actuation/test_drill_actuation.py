"""A drill's actuation is simulated (issue 11, item 5): shown in the thread and audited, never published,
even on a broker that would take it."""

import asyncio

from sqlmodel import select

from incidents.database import Database
from incidents.tables import ActionRun, AuditEvent, OutboxMessage
from integrations.mqtt.broker_config import BrokerConfig
from integrations.mqtt.publisher import ConfirmedPublisher
from tests.actuation.conftest import Broker
from tests.actuation.test_truthful_actuation import Chat, _execute, _listen, _people
from tests.conftest import FakeClock
from tests.factories import make_core


async def test_a_drill_actuation_is_shown_but_not_published(sqlite_url: str, password_broker: Broker,
                                                            clock: FakeClock) -> None:
    database = Database(sqlite_url)
    _people(database)
    core = make_core(database, now=clock)
    chat = Chat(core, clock)
    declared = chat.command("wangwei", "/incident 停电 POWER --drill")
    assert declared.ok and "DRILL" in declared.text
    incident_id = int(declared.text.split()[0].lstrip("#"))
    assert chat.command("liuyang", "/done scope site_wide", incident_id).ok
    assert chat.command("liuyang", "/done generator-check 否", incident_id).ok
    with database.reader() as session:
        run = session.exec(select(ActionRun).where(ActionRun.step_id == "start-generator")).one()
    assert run.id is not None
    assert chat.click("zhoutao", f"v1:act:{incident_id}:{run.id}").ok
    listener, received = _listen(password_broker)
    try:
        right = BrokerConfig("127.0.0.1", password_broker.port, password_broker.user, password_broker.password)
        finished = await _execute(core, ConfirmedPublisher(right, timeout_seconds=5), run.id)
        await asyncio.sleep(0.5)
        assert finished.status == "simulated" and received == []
        with database.reader() as session:
            simulated = session.exec(select(AuditEvent).where(AuditEvent.action == "action.simulated")).one()
            titles = [o.payload["message"]["title"] for o in session.exec(select(OutboxMessage)) if o.op == "post"]
        assert simulated.after is not None and simulated.after["spec"]["topic"].endswith("generator/command")
        assert any("Simulated, not sent" in t or "模拟执行" in t for t in titles)
        assert not any("已执行" in t for t in titles)
    finally:
        listener.loop_stop()
        listener.disconnect()
