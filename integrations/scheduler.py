"""Persistent timers: apscheduler jobs in the same database, so a restart loses none.

Jobs carry only ids and a token; the callable is a module-level function found by reference,
which looks up the live handler registered at startup. The database stays the source of truth:
``IncidentFlow.rearm_all`` re-arms every pending escalation at boot.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

EscalationHandler = Callable[..., bool]
_handlers: dict[str, EscalationHandler] = {}


async def fire_escalation(incident_id: int, token: str) -> None:
    """The job body, on the event loop: run the registered handler; a missing one means the app is shutting down."""
    handler = _handlers.get("escalation")
    if handler is None:
        log.warning("escalation for incident %s fired with no handler registered", incident_id)
        return
    handler(incident_id=incident_id, token=token)


async def fire_step_timer(incident_id: int, step_id: str, kind: str, token: str) -> None:
    """The job body of a playbook step timer (ack, complete, reminder, repeat)."""
    handler = _handlers.get("step")
    if handler is None:
        log.warning("step timer %s of incident %s fired with no handler registered", token, incident_id)
        return
    handler(incident_id=incident_id, step_id=step_id, kind=kind, token=token)


class PersistentTimers:
    """Implements handlers.context.TimerPort over an AsyncIOScheduler with a SQLAlchemy job store."""

    def __init__(self, engine: Engine) -> None:
        self.scheduler = AsyncIOScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs")},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=UTC,
        )

    def start(self, *, on_escalation: EscalationHandler, on_step: EscalationHandler) -> None:
        _handlers["escalation"], _handlers["step"] = on_escalation, on_step
        self.scheduler.start()

    def shutdown(self) -> None:
        _handlers.pop("escalation", None)
        _handlers.pop("step", None)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def arm_escalation(self, *, incident_id: int, token: str, run_at: datetime) -> None:
        """Replace the incident's escalation job with one at ``run_at``."""
        self.scheduler.add_job(
            fire_escalation, "date", run_date=run_at, args=[incident_id, token],
            id=f"escalation-{incident_id}", replace_existing=True,
        )

    def arm_step(self, *, incident_id: int, step_id: str, kind: str, token: str, run_at: datetime) -> None:
        """Arm one step timer; its id carries the walker's token, so arming again changes nothing."""
        self.scheduler.add_job(
            fire_step_timer, "date", run_date=run_at, args=[incident_id, step_id, kind, token],
            id=f"step-{incident_id}-{token}", replace_existing=True,
        )

    def disarm_escalation(self, *, incident_id: int) -> None:
        job = self.scheduler.get_job(f"escalation-{incident_id}")
        if job is not None:
            job.remove()
