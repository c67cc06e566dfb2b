"""Re-planning an incident's escalation when its severity changes or it is triggered again.

The plan is the incident's ``escalation_policy`` snapshot: levels whose ``after_seconds`` count from
the moment the incident opened (``incidents.escalation.next_step``). Re-planning rewrites that
snapshot, so the timers, the boot-time re-arming and the review read one truth.

Rules (issue 11, item 1, after PagerDuty's and Grafana OnCall's escalation chains):

- a raise re-plans the remaining levels from the new severity's policy, each level no later than
  the old plan had it (``min`` per level), so raising never delays a page;
- a lowering takes the milder policy's levels as they are (later, or none);
- levels already reached stay reached (``escalation_level`` is kept); a level whose time has passed
  fires at once;
- a re-trigger or an un-acknowledge restarts the chain from its first level, counted from now.
"""

from datetime import datetime, timedelta
from typing import Any

from incidents.escalation import EscalationLevel, SeverityPolicy, policy_snapshot


def replan(old: list[dict[str, Any]], new_policy: SeverityPolicy, *, raised: bool) -> list[dict[str, Any]]:
    """The snapshot after a severity change: ``new_policy``'s levels, each capped by ``old``'s on a raise."""
    levels = policy_snapshot(new_policy)
    if not raised:
        return levels
    previous = [EscalationLevel.model_validate(entry) for entry in old]
    return [
        {**entry, "after_seconds": min(entry["after_seconds"], previous[index].after_seconds)}
        if index < len(previous) else entry
        for index, entry in enumerate(levels)
    ]


def restart(policy: SeverityPolicy, *, opened_at: datetime, now: datetime) -> list[dict[str, Any]]:
    """The snapshot of a chain that starts again at ``now``: each level's wait counted from now.

    Raises nothing; ``now`` before ``opened_at`` (a clock step back) counts from the opening.
    """
    elapsed = max(0, int((now - opened_at).total_seconds()))
    return [{**entry, "after_seconds": entry["after_seconds"] + elapsed} for entry in policy_snapshot(policy)]


def next_reminder(every_seconds: int | None, *, now: datetime) -> datetime | None:
    """When the next reminder falls due (``every_seconds`` from ``now``), or None when the policy has none."""
    return None if every_seconds is None else now + timedelta(seconds=every_seconds)
