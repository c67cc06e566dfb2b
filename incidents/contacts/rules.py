"""Personal notification rules (as PagerDuty's and Grafana OnCall's): per severity, which channels and after
how long, if the incident is still unacknowledged; quiet hours hold back every severity but SEV1."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, delete, select

from incidents import audit
from incidents.actors import SYSTEM, Actor
from incidents.contacts.pins import profile
from incidents.contacts.tables import ContactProfile, NotificationRule
from incidents.severity import Severity

CHAT = "chat"
RULE_CHANNELS = (CHAT, "sms", "voice", "email")
DEFAULT_STEPS: tuple[tuple[str, int], ...] = ((CHAT, 0),)  # nobody is texted or called without rules of their own
MAX_DELAY_SECONDS = 24 * 3600


class RuleRefused(ValueError):
    """Rules that cannot be kept (unknown channel or severity, a delay out of range); bilingual message."""


@dataclass(frozen=True, slots=True)
class Step:
    channel: str
    after_seconds: int


def set_rules(session: Session, *, person_id: int, severity: str, steps: Sequence[tuple[str, int]],
              by: Actor = SYSTEM) -> list[Step]:
    """Replace the person's steps for ``severity`` (each a channel and a delay in seconds, 0 to 24 h); audited."""
    if severity not in {s.value for s in Severity}:
        raise RuleRefused(f"未知的严重程度「{severity}」 / Unknown severity \"{severity}\"")
    checked = []
    for channel, after in steps:
        if channel not in RULE_CHANNELS:
            raise RuleRefused(f"未知的通知渠道「{channel}」，可用：{', '.join(RULE_CHANNELS)} / Unknown channel "
                              f"\"{channel}\"; known: {', '.join(RULE_CHANNELS)}")
        if not 0 <= after <= MAX_DELAY_SECONDS:
            raise RuleRefused(f"延迟需要在 0 到 {MAX_DELAY_SECONDS} 秒之间 / A delay is 0 to {MAX_DELAY_SECONDS} s")
        checked.append(Step(channel, int(after)))
    session.exec(delete(NotificationRule).where(col(NotificationRule.person_id) == person_id,
                                                col(NotificationRule.severity) == severity))
    for step in checked:
        session.add(NotificationRule(person_id=person_id, severity=severity, channel=step.channel,
                                     after_seconds=step.after_seconds))
    audit.record(session, action="contact.rules_set", actor=by, object_type="person", object_id=str(person_id),
                 after={"severity": severity, "steps": [[s.channel, s.after_seconds] for s in checked]})
    return checked


def steps_for(session: Session, *, person_id: int, severity: str) -> list[Step]:
    """The person's steps for ``severity`` by delay; DEFAULT_STEPS when they set none."""
    rows = session.exec(select(NotificationRule).where(NotificationRule.person_id == person_id,
                                                       NotificationRule.severity == severity)
                        .order_by(col(NotificationRule.after_seconds), col(NotificationRule.id))).all()
    return [Step(r.channel, r.after_seconds) for r in rows] or [Step(c, a) for c, a in DEFAULT_STEPS]


def set_quiet_hours(session: Session, *, person_id: int, start: time | None, end: time | None,
                    by: Actor = SYSTEM) -> None:
    """Quiet hours in site time (both None: none); audited."""
    row = profile(session, person_id)
    row.quiet_start = start.strftime("%H:%M") if start else None
    row.quiet_end = end.strftime("%H:%M") if end else None
    session.add(row)
    audit.record(session, action="contact.quiet_hours_set", actor=by, object_type="person", object_id=str(person_id),
                 after={"start": row.quiet_start, "end": row.quiet_end})


def in_quiet_hours(row: ContactProfile | None, moment: datetime, timezone: str) -> bool:
    """Whether ``moment`` falls in the person's quiet hours (site ``timezone``); a span may cross midnight."""
    if row is None or not row.quiet_start or not row.quiet_end:
        return False
    local = moment.astimezone(ZoneInfo(timezone)).time()
    start, end = time.fromisoformat(row.quiet_start), time.fromisoformat(row.quiet_end)
    return start <= local < end if start < end else local >= start or local < end


def holds_back(row: ContactProfile | None, *, severity: str, moment: datetime, timezone: str) -> bool:
    """Quiet hours hold a notification back, except for SEV1."""
    return severity != Severity.SEV1.value and in_quiet_hours(row, moment, timezone)
