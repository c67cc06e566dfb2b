"""A group of external alerts (one Alertmanager notification) as one incident.

Alertmanager sends a whole group in each notification and re-sends it every ``group_interval`` /
``repeat_interval``; its own receivers (e-mail, Slack, PagerDuty) treat a group as one
notification. So the group is one incident, keyed by the group: the first notification opens it
with its most urgent alert and lists the others in one message; later notifications add only the
alerts that are new or changed, and the alerts that resolved are recorded one by one, again in one
message. Nothing is posted for a re-send that changes nothing.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

from handlers import messages
from handlers.text import say
from incidents import service
from incidents.signals import AlertSignal, SignalKind

if TYPE_CHECKING:
    from handlers.intake import Intake

NAMES_SHOWN = 10  # alerts named in one message; the rest are counted


def apply_group(intake: "Intake", key: str, firing: list[AlertSignal], resolved: list[AlertSignal], *,
                truncated: int = 0) -> list[int]:
    """Apply one notification of the group ``key``; returns the incident it touched (or [])."""
    ctx = intake.ctx
    with ctx.db.reader() as session:
        incident = service.find_open(session, dedup_key=key)
        latest = service.latest_alert_kinds(session, incident_id=incident.id) if incident and incident.id else {}
    new = sorted((s for s in firing if latest.get(s.fingerprint) != SignalKind.FIRING.value),
                 key=lambda s: (s.severity.rank, s.at))
    cleared = [s for s in resolved if latest.get(s.fingerprint) == SignalKind.FIRING.value]
    if incident is None:
        if not new:
            return []
        touched = intake.deliver(new[0])  # opens the incident: threads, playbook, escalation
        if not touched:
            return []
        incident_id, joining, opened = touched[0], new[1:], True
    else:
        assert incident.id is not None
        incident_id, joining, opened = incident.id, new, False
    if not joining and not cleared:
        return [incident_id]
    now = ctx.now()
    with ctx.db.unit_of_work() as session:
        for signal in joining:
            policy = ctx.escalation.for_severity(signal.severity)
            service.open_or_join(session, signal=signal, policy=policy, playbook=None, now=now)
        row = service.get_incident(session, incident_id=incident_id)
        if joining:
            listed = new if opened else joining
            text = say("grouped_msg", count=len(listed), names=_names(listed)) if opened else \
                say("group_joined_msg", count=len(listed), names=_names(listed))
            if truncated:
                text += "\n" + say("group_truncated_msg", count=truncated)
            ctx.notifier.post(session, incident_id, messages.notice(incident_id, text, tone="alert"))
        if cleared:
            all_clear = service.record_clears(session, incident=row, signals=cleared, now=now)
            text = say("group_resolved_msg", count=len(cleared), names=_names(cleared))
            if all_clear:
                text += "\n" + say("group_all_clear_msg")
            ctx.notifier.post(session, incident_id, messages.notice(incident_id, text, tone="ok"))
        ctx.notifier.update_header(session, incident_id, intake.flow.header(session, row))
    observe: Callable[[AlertSignal, int | None], None] = intake.inhibitor.observe
    for signal in [*joining, *cleared]:
        observe(signal, incident_id)
    ctx.wake_outbox()
    return [incident_id]


def _names(signals: list[AlertSignal]) -> str:
    names = [s.sensor or s.labels.get("alertname") or s.fingerprint for s in signals]
    more = len(names) - NAMES_SHOWN
    return ", ".join(names[:NAMES_SHOWN]) + (f" … +{more}" if more > 0 else "")
