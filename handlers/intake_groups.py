"""A group of external alerts (one Alertmanager notification) as one incident.

Alertmanager sends a whole group in each notification and re-sends it every ``group_interval`` /
``repeat_interval``; its own receivers (e-mail, Slack, PagerDuty) treat a group as one
notification. So the group is one incident, keyed by the group: the first notification opens it
with its most urgent alert and lists the others in one message; later notifications add only the
alerts that are new or changed, and the alerts that resolved are recorded one by one, again in one
message. Nothing is posted for a re-send that changes nothing.

A notification is one transaction: the incident opened (its first alert through the usual flow) or found,
the group's other alerts joined and its resolved alerts recorded all at once (``incidents.group_intake``:
one query for their alarm conditions, one executemany for their rows and one audit event listing them), one
message per notification. A re-send is checked on the read engine first, so it never takes SQLite's write lock.
"""

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from handlers import messages
from handlers.text import say
from incidents import group_intake, service
from incidents.signals import AlertSignal, SignalKind
from incidents.tables import Incident

if TYPE_CHECKING:
    from handlers.intake import Intake

log = logging.getLogger(__name__)
NAMES_SHOWN = 10  # alerts named in one message; the rest are counted


def apply_group(intake: "Intake", key: str, firing: list[AlertSignal], resolved: list[AlertSignal], *,
                truncated: int = 0) -> list[int]:
    """Apply one notification of the group ``key``; returns the incident it touched (or []). Raises what the
    database raises (nothing of the notification is then written)."""
    with intake.ctx.db.reader() as session:
        seen = service.find_open(session, dedup_key=key)
        latest = service.latest_alert_kinds(session, incident_id=seen.id) if seen and seen.id else {}
    new, cleared = _changes(firing, resolved, latest)
    if seen is not None and not new and not cleared:  # a re-send that changes nothing
        assert seen.id is not None
        return [seen.id]
    if seen is None and not new:
        return []
    for attempt in range(2):
        try:
            return _write(intake, key, firing, resolved, truncated=truncated, seen=seen, latest=latest)
        except IntegrityError:  # another process opened the group's incident meanwhile: join it
            if attempt:
                raise
            log.info("incident of group %s opened concurrently; joining it", key)
            seen, latest = None, {}
    raise AssertionError("unreachable")


def _changes(firing: Sequence[AlertSignal], resolved: Sequence[AlertSignal],
             latest: dict[str, str]) -> tuple[list[AlertSignal], list[AlertSignal]]:
    """The firing alerts that are new or changed (most urgent first) and the resolved ones that were firing."""
    new = sorted((s for s in firing if latest.get(s.fingerprint) != SignalKind.FIRING.value),
                 key=lambda s: (s.severity.rank, s.at))
    return new, [s for s in resolved if latest.get(s.fingerprint) == SignalKind.FIRING.value]


def _write(intake: "Intake", key: str, firing: list[AlertSignal], resolved: list[AlertSignal], *, truncated: int,
           seen: Incident | None, latest: dict[str, str]) -> list[int]:
    """The notification's one transaction, then what follows its commit (timers, inhibition, the outbox)."""
    ctx, flow, now = intake.ctx, intake.flow, intake.ctx.now()
    with ctx.db.unit_of_work() as session:
        incident = service.find_open(session, dedup_key=key)
        if incident is not None and (seen is None or incident.id != seen.id):  # opened or replaced meanwhile
            assert incident.id is not None
            latest = service.latest_alert_kinds(session, incident_id=incident.id)
        new, cleared = _changes(firing, resolved, latest if incident is not None else {})
        opened = incident is None
        if incident is None:
            if not new:
                return []
            incident = flow.open_in(session, new[0], now)  # opens it: threads, pages, playbook
            joining = new[1:]
        else:
            joining = new
        assert incident.id is not None
        incident_id, before = incident.id, (incident.status, incident.severity)
        if joining or cleared:
            all_clear = group_intake.apply(session, incident=incident, joining=joining, cleared=cleared, now=now,
                                           policy_for=ctx.escalation.for_severity)
            if joining:
                listed = new if opened else joining
                text = say("grouped_msg", count=len(listed), names=_names(listed)) if opened else \
                    say("group_joined_msg", count=len(listed), names=_names(listed))
                if truncated:
                    text += "\n" + say("group_truncated_msg", count=truncated)
                ctx.notifier.post(session, incident_id, messages.notice(incident_id, text, tone="alert"))
            if cleared:
                text = say("group_resolved_msg", count=len(cleared), names=_names(cleared))
                if all_clear:
                    text += "\n" + say("group_all_clear_msg")
                ctx.notifier.post(session, incident_id, messages.notice(incident_id, text, tone="ok"))
            ctx.notifier.update_header(session, incident_id, flow.header(session, incident))
        changed = opened or (incident.status, incident.severity) != before
    log.info("group %s: %d new and %d resolved alerts on incident %d%s", key, len(new), len(cleared), incident_id,
             " (opened)" if opened else "")
    if opened:
        intake.alarm_desk.observe(new[0])
    for signal in [*new, *cleared]:
        intake.inhibitor.observe(signal, incident_id)
    if changed:
        flow.settled(incident_id)
    else:
        ctx.wake_outbox()
    return [incident_id]


def _names(signals: list[AlertSignal]) -> str:
    return listing([s.sensor or s.labels.get("alertname") or s.fingerprint for s in signals])


def listing(names: Sequence[str]) -> str:
    """The first ``NAMES_SHOWN`` of ``names``, comma-separated, and how many more ("a, b … +3")."""
    more = len(names) - NAMES_SHOWN
    return ", ".join(names[:NAMES_SHOWN]) + (f" … +{more}" if more > 0 else "")
