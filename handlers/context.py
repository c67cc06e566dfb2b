"""Everything a use case needs, built once by ``bot.bootstrap``."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from handlers.notify import Notifier
from incidents.clock import utcnow
from incidents.database import Database
from incidents.escalation import EscalationConfig


class TimerPort(Protocol):
    """Persistent timers; the job calls back into ``handlers.timers``."""

    def arm_escalation(self, *, incident_id: int, token: str, run_at: datetime) -> None: ...

    def disarm_escalation(self, *, incident_id: int) -> None: ...

    def arm_step(self, *, incident_id: int, step_id: str, kind: str, token: str, run_at: datetime) -> None: ...

    def arm_reminder(self, *, incident_id: int, kind: str, token: str, run_at: datetime) -> None: ...

    def arm_drill(self, *, job_id: str, run_at: datetime, playbook_id: str, zone: str | None, note: str,
                  person_id: int | None) -> None: ...


@dataclass
class CoreContext:
    db: Database
    notifier: Notifier
    escalation: EscalationConfig
    timers: TimerPort
    timezone: str
    public_url: str = ""  # where people open pages (signing, reviews); built into chat links
    contact_channels: tuple[str, ...] = ()  # enabled channels beyond chat (sms, voice, email): paging uses them
    wake_outbox: Callable[[], None] = lambda: None
    wake_actions: Callable[[], None] = lambda: None
    now: Callable[[], datetime] = field(default=utcnow)
