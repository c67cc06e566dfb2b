"""Drills in the statistics (issue 11, item 5): left out of the incident figures by default, reported apart."""

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import mean

from incidents.tables import Incident


@dataclass(frozen=True, slots=True)
class DrillStats:
    """How many drills ran in the period and how fast people responded, in seconds from opening."""

    count: int = 0
    mtta_seconds: float | None = None
    mttr_seconds: float | None = None


def split_drills(incidents: Sequence[Incident], *, include_drills: bool) -> tuple[list[Incident], list[Incident]]:
    """(the incidents the statistics count, the drills among all of them)."""
    drills = [i for i in incidents if i.drill]
    counted = list(incidents) if include_drills else [i for i in incidents if not i.drill]
    return counted, drills


def drill_stats(drills: Sequence[Incident]) -> DrillStats:
    """Count, mean time to acknowledge and mean time to resolve of ``drills``."""
    acks = [(i.acknowledged_at - i.opened_at).total_seconds() for i in drills if i.acknowledged_at]
    fixes = [(i.resolved_at - i.opened_at).total_seconds() for i in drills if i.resolved_at]
    return DrillStats(len(drills), mean(acks) if acks else None, mean(fixes) if fixes else None)
