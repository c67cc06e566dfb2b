"""Persistent timers: apscheduler jobs in the same database, run by the holder of the scheduler lease.

Every process shares one job store (the ``apscheduler_jobs`` table) and arms or disarms jobs in
it, but only the process that holds the ``scheduler`` lease runs them; the others keep their
scheduler paused. When a process takes the lease it re-arms every pending timer from the
database, which stays the source of truth (``IncidentFlow.rearm_all``), then looks at the store
every ``poll_seconds`` for jobs that other processes armed and re-arms again every
``reconcile_seconds`` (a date job leaves the store when it is handed to the executor, so a holder
that dies or loses its database between that moment and its commit would otherwise lose it).

Jobs carry only ids and a token; the callable is a module-level function found by reference,
which looks up the live handler registered at startup and runs it fenced by the lease: a write
of a holder that lost the lease is refused (``incidents.leases``), and a stale token changes
nothing, so a timer has its effect once however many processes saw it.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import Engine

from incidents.leases import HeldLease, LeaseLost, fenced

log = logging.getLogger(__name__)

SCHEDULER_LEASE = "scheduler"
RETENTION_JOB = "retention"

EscalationHandler = Callable[..., bool]


@dataclass
class _Live:
    """What the module-level job bodies find: the handlers of this process and its current lease."""

    handlers: dict[str, Callable[..., object]] = field(default_factory=dict)
    lease: HeldLease | None = None


_live = _Live()


def _run(job: str, **args: Any) -> None:
    handler = _live.handlers.get(job)
    lease = _live.lease
    if handler is None:
        log.warning("%s timer %s fired with no handler registered", job, args)
        return
    if lease is None:
        log.info("%s timer %s fell due after this process gave up the scheduler lease; the holder re-arms it",
                 job, args)
        return
    with contextlib.suppress(LeaseLost), fenced(lease):  # LeaseLost: logged; the new holder re-armed it
        handler(**args)


async def fire_escalation(incident_id: int, token: str) -> None:
    """The job body, on the event loop: run the registered handler under the scheduler lease."""
    _run("escalation", incident_id=incident_id, token=token)


async def fire_step_timer(incident_id: int, step_id: str, kind: str, token: str) -> None:
    """The job body of a playbook step timer (ack, complete, reminder, repeat)."""
    _run("step", incident_id=incident_id, step_id=step_id, kind=kind, token=token)


async def fire_reminder(incident_id: int, kind: str, token: str) -> None:
    """The job body of an incident reminder (``ack``: please acknowledge; ``status``: status update due)."""
    _run("reminder", incident_id=incident_id, kind=kind, token=token)


async def fire_drill(playbook_id: str, zone: str | None, note: str, person_id: int | None) -> None:
    """The job body of a scheduled drill: declare it (``handlers.drills.DrillDesk.due``)."""
    _run("drill", playbook_id=playbook_id, zone=zone, note=note, person_id=person_id)


async def run_retention() -> None:
    """The nightly retention job: runs in a worker thread, each of its transactions fenced by the lease."""
    handler, lease = _live.handlers.get("retention"), _live.lease
    if handler is None or lease is None:
        log.info("retention fell due on a process without the scheduler lease; skipped")
        return
    with contextlib.suppress(LeaseLost), fenced(lease):
        await asyncio.to_thread(handler)  # the thread inherits the fence (contextvars are copied)


@dataclass(frozen=True, slots=True)
class NightlyAt:
    """When the nightly retention runs: ``hour``:``minute`` in ``timezone`` (the site's)."""

    hour: int
    minute: int
    timezone: str


class PersistentTimers:
    """Implements handlers.context.TimerPort over an AsyncIOScheduler with a SQLAlchemy job store."""

    def __init__(self, engine: Engine, *, poll_seconds: float = 1.0, reconcile_seconds: float = 60.0) -> None:
        self.scheduler = AsyncIOScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs")},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=UTC,
        )
        self.poll_seconds = poll_seconds
        self.reconcile_seconds = reconcile_seconds
        self._rearm: Callable[[], int] = lambda: 0
        self._nightly: NightlyAt | None = None

    def start(self, *, on_escalation: EscalationHandler, on_step: EscalationHandler, rearm: Callable[[], int],
              on_retention: Callable[[], object] | None = None, nightly: NightlyAt | None = None,
              on_reminder: EscalationHandler | None = None, on_drill: EscalationHandler | None = None) -> None:
        """Register the handlers and open the job store, paused: jobs run only under the lease (``hold``)."""
        _live.handlers.update(escalation=on_escalation, step=on_step)
        if on_reminder is not None:
            _live.handlers["reminder"] = on_reminder
        if on_drill is not None:
            _live.handlers["drill"] = on_drill
        if on_retention is not None:
            _live.handlers["retention"] = on_retention
        self._rearm, self._nightly = rearm, nightly
        self.scheduler.start(paused=True)

    async def hold(self, lease: HeldLease) -> None:
        """The scheduler lease's work: re-arm from the database, run due jobs, pause again when cancelled."""
        _live.lease = lease
        try:
            log.info("scheduler lease held (token %d): re-armed %d pending escalations and step timers",
                     lease.token, await asyncio.to_thread(self._rearm))
            self._keep_nightly()
            self.scheduler.resume()
            reconciled = time.monotonic()
            while True:
                await asyncio.sleep(self.poll_seconds)
                self.scheduler.wakeup()  # jobs that other processes armed since the last look
                if time.monotonic() - reconciled >= self.reconcile_seconds:
                    await asyncio.to_thread(self._rearm)
                    reconciled = time.monotonic()
        finally:
            _live.lease = None
            if self.scheduler.state == STATE_RUNNING:
                self.scheduler.pause()

    def _keep_nightly(self) -> None:
        if self._nightly is None or "retention" not in _live.handlers:
            return
        trigger = CronTrigger(hour=self._nightly.hour, minute=self._nightly.minute,
                              timezone=ZoneInfo(self._nightly.timezone))
        job = self.scheduler.get_job(RETENTION_JOB)
        if job is None or repr(job.trigger) != repr(trigger):  # keep a due run; replace a changed time
            self.scheduler.add_job(run_retention, trigger, id=RETENTION_JOB, replace_existing=True)

    def shutdown(self) -> None:
        _live.handlers.clear()
        _live.lease = None
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def _put(self, func: Callable[..., Any], *, job_id: str, run_at: datetime, args: list[Any]) -> None:
        # Another process may remove the job between apscheduler's insert conflict and its update:
        # then the insert succeeds on the second try.
        for attempt in range(2):
            try:
                self.scheduler.add_job(func, "date", run_date=run_at, args=args, id=job_id, replace_existing=True)
                return
            except (JobLookupError, ConflictingIdError):
                if attempt:
                    raise

    def arm_escalation(self, *, incident_id: int, token: str, run_at: datetime) -> None:
        """Replace the incident's escalation job with one at ``run_at``."""
        self._put(fire_escalation, job_id=f"escalation-{incident_id}", run_at=run_at, args=[incident_id, token])

    def arm_step(self, *, incident_id: int, step_id: str, kind: str, token: str, run_at: datetime) -> None:
        """Arm one step timer; its id carries the walker's token, so arming again changes nothing."""
        self._put(fire_step_timer, job_id=f"step-{incident_id}-{token}", run_at=run_at,
                  args=[incident_id, step_id, kind, token])

    def arm_reminder(self, *, incident_id: int, kind: str, token: str, run_at: datetime) -> None:
        """Replace the incident's ``kind`` reminder job with one at ``run_at``; ``token`` names that due time."""
        self._put(fire_reminder, job_id=f"reminder-{kind}-{incident_id}", run_at=run_at,
                  args=[incident_id, kind, token])

    def arm_drill(self, *, job_id: str, run_at: datetime, playbook_id: str, zone: str | None, note: str,
                  person_id: int | None) -> None:
        """A scheduled drill: one job, kept in the shared job store until it runs."""
        self._put(fire_drill, job_id=job_id, run_at=run_at, args=[playbook_id, zone, note, person_id])

    def disarm_escalation(self, *, incident_id: int) -> None:
        """Remove the incident's escalation job; one that already ran (here or elsewhere) is fine."""
        with contextlib.suppress(JobLookupError):
            self.scheduler.remove_job(f"escalation-{incident_id}")
