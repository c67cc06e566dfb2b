"""Acknowledge reminders through the real persistent scheduler (apscheduler job store in the database, run
under the scheduler lease): they repeat until someone acknowledges, then stop."""

import asyncio

from apscheduler.schedulers.base import STATE_RUNNING
from sqlmodel import select

from handlers.commands import ChatRouter
from handlers.context import CoreContext
from handlers.incident_flow import IncidentFlow
from handlers.notify import Notifier
from handlers.playbook_flow import PlaybookFlow
from incidents.database import Database
from incidents.escalation import EscalationConfig, EscalationLevel, SeverityPolicy
from incidents.leases import backend_for
from incidents.lifecycle import Transition
from incidents.severity import Severity
from incidents.tables import AuditEvent
from integrations.scheduler import PersistentTimers
from tests.escalation.test_follows_severity import core_actor
from tests.factories import LIBRARY, make_signal, seed_people

FAST = EscalationConfig(policies={Severity.SEV2: SeverityPolicy(
    first=["SL"], levels=[EscalationLevel(after_seconds=3600, role="WM")], remind_every_seconds=1)})


def _reminded(database: Database) -> int:
    with database.reader() as session:
        return len(session.exec(select(AuditEvent).where(AuditEvent.action == "incident.reminded")).all())


async def test_reminders_repeat_under_the_lease_until_acknowledged(database: Database) -> None:
    seed_people(database)
    timers = PersistentTimers(database.engine, poll_seconds=0.1)
    ctx = CoreContext(db=database, notifier=Notifier(("webchat",)), escalation=FAST, timers=timers,
                      timezone="Asia/Shanghai")
    flow = IncidentFlow(ctx, PlaybookFlow(ctx, LIBRARY))
    router = ChatRouter(ctx, flow, flow.playbooks)
    timers.start(on_escalation=flow.escalation_due, on_step=flow.playbooks.timer_due, rearm=flow.rearm_all,
                 on_reminder=flow.reminders.due, on_drill=router.drills.due)
    leases = backend_for(database.url)
    lease = leases.try_acquire(name="scheduler", holder="reminder-test", ttl_seconds=30)
    assert lease is not None
    holding = asyncio.create_task(timers.hold(lease))
    try:
        incident_id = await asyncio.to_thread(flow.on_signal, make_signal(playbook=None))
        assert incident_id is not None
        for _ in range(100):
            if _reminded(database) >= 2 and timers.scheduler.state == STATE_RUNNING:
                break
            await asyncio.sleep(0.1)
        assert _reminded(database) >= 2  # every second while nobody acknowledges
        await asyncio.to_thread(flow.change, incident_id=incident_id, change=Transition.ACKNOWLEDGE,
                                actor=core_actor(database), dedupe_key=None)
        settled = _reminded(database)
        await asyncio.sleep(2.5)
        assert _reminded(database) <= settled + 1  # one may have been under way; then they stop
        final = _reminded(database)
        await asyncio.sleep(1.5)
        assert _reminded(database) == final
    finally:
        holding.cancel()
        await asyncio.gather(holding, return_exceptions=True)
        timers.shutdown()
